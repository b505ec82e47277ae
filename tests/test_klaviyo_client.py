"""The Klaviyo HTTP client against the local Klaviyo-compatible server (real HTTP on 127.0.0.1).

Headers, cursor paging, retries (429 Retry-After, 5xx, timeouts, truncated bodies), the
one-sentence errors (401/403/400, exhausted retries, repeated cursor, foreign next link),
secrets never shown, and the account configuration.
"""

from __future__ import annotations

import json
import logging
import socket

import httpx
import pytest

from orchestration.klaviyo import (
    DEFAULT_REVISION,
    REQUIRED_SCOPES,
    AccountConfig,
    KlaviyoAuthError,
    KlaviyoClient,
    KlaviyoConfigError,
    KlaviyoPagingError,
    KlaviyoRequestError,
    KlaviyoUnavailableError,
    RetryPolicy,
    load_accounts,
)
from orchestration.klaviyo.client import parse_retry_after
from orchestration.klaviyo.fake import FakeAccount, FakeAccountConfig, Fault, ThreadedServer, create_app

KEY = "pk_SECRET_0123456789abcdef_never_print"
FAST = RetryPolicy(max_attempts=5, backoff_initial=0.01, backoff_max=0.05, backoff_jitter=0.01, retry_after_cap=2.0)


@pytest.fixture(scope="module")
def account() -> FakeAccount:
    return FakeAccount(FakeAccountConfig(customers=300, days=60))


@pytest.fixture(scope="module")
def server(account: FakeAccount):
    app = create_app({KEY: account, "metrics-only-key": account}, scopes={"metrics-only-key": {"metrics:read"}})
    with ThreadedServer(app) as srv:
        yield srv


@pytest.fixture()
def fake(server):
    server.fake.faults.clear()
    server.fake.clear_requests()
    yield server.fake
    server.fake.faults.clear()


class Sleeps:
    """Records the waits tenacity asks for (and really sleeps them: they are tiny)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        import time

        self.waits.append(seconds)
        time.sleep(seconds)


def client(server, *, key: str = KEY, timeout: float = 10.0, retry: RetryPolicy = FAST, sleep=None) -> KlaviyoClient:
    kwargs = {"sleep": sleep} if sleep else {}
    return KlaviyoClient(key, base_url=server.base_url, timeout=timeout, retry=retry, account_id="acme", **kwargs)


def test_headers_and_cursor_paging(server, fake, account):
    with client(server) as c:
        pages = list(c.paginate("profiles", {"sort": "updated", "page[size]": 100}))
        stats = c.stats
    ids = [r["id"] for p in pages for r in p.data]
    assert len(pages) == 3 and len(ids) == len(set(ids)) == len(account.profiles)
    assert pages[-1].next_url is None and all(p.next_url for p in pages[:-1])
    assert stats.pages == 3 and stats.rows == 300 and stats.requests == 3 and stats.retries == 0
    log = fake.requests("/api/profiles")
    assert [r["status"] for r in log] == [200, 200, 200]
    assert all(r["auth_scheme"] == "Klaviyo-API-Key" and r["revision"] == DEFAULT_REVISION
               and r["accept"] == "application/vnd.api+json" for r in log)
    assert "page[cursor]" not in log[0]["query"] and all("page[cursor]" in r["query"] for r in log[1:])
    # the next links keep the original filter/sort/size
    assert all(r["query"]["sort"] == "updated" and r["query"]["page[size]"] == "100" for r in log)


def test_post_sends_json_api_content_type(server, fake, account):
    body = {"data": {"type": "campaign-values-report", "attributes": {
        "statistics": ["opens"], "timeframe": {"key": "last_365_days"},
        "conversion_metric_id": account.metric_by_name["Placed Order"].id}}}
    with client(server) as c:
        doc = c.post("campaign-values-reports", body)
    assert doc["data"]["type"] == "campaign-values-report"
    (entry,) = fake.requests("/api/campaign-values-reports")
    assert entry["content_type"] == "application/vnd.api+json" and entry["body"] == body


def test_429_waits_the_retry_after_seconds(server, fake):
    fake.faults.add(Fault("rate_limit", count=2, path="/api/metrics", retry_after=0.3))
    sleeps = Sleeps()
    with client(server, sleep=sleeps) as c:
        doc = c.get("metrics")
        assert c.stats.retries == 2 and c.stats.retry_reasons == {"rate_limited": 2}
    assert len(doc["data"]) == 12
    assert sleeps.waits == [0.3, 0.3]
    assert [r["status"] for r in fake.requests("/api/metrics")] == [429, 429, 200]


def test_retry_after_is_capped_and_falls_back_to_backoff(server, fake):
    fake.faults.add(Fault("rate_limit", count=1, path="/api/metrics", retry_after=3600),
                    Fault("rate_limit", count=1, path="/api/metrics", retry_after=None))
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=4, backoff_initial=0.01, backoff_max=0.05, backoff_jitter=0.0,
                         retry_after_cap=0.2)
    with client(server, sleep=sleeps, retry=policy) as c:
        c.get("metrics")
    assert sleeps.waits == [0.2, 0.02]  # capped Retry-After, then exponential backoff (attempt 2)


@pytest.mark.parametrize("fault", [
    Fault("status", status=500, count=2, path="/api/events"),
    Fault("status", status=503, count=2, path="/api/events"),
    Fault("truncate", count=2, path="/api/events"),
    Fault("slow", delay=1.0, count=1, path="/api/events"),
], ids=["500", "503", "truncated", "timeout"])
def test_transient_faults_are_retried(server, fake, fault):
    params = {"sort": "datetime", "page[size]": 1000, "include": "metric,attributions"}
    with client(server) as c:
        expected = [r["id"] for p in c.paginate("events", params) for r in p.data]
    fake.faults.add(Fault(**{**fault.__dict__, "hits": 0, "after": 1}))  # the second request suffers
    with client(server, timeout=0.4 if fault.kind == "slow" else 10.0) as c:
        got = [r["id"] for p in c.paginate("events", params) for r in p.data]
        stats = c.stats
    assert got == expected
    assert stats.retries == fault.count
    reason = {"status": "server_error", "truncate": "broken_body", "slow": "timeout"}[fault.kind]
    assert stats.retry_reasons == {reason: fault.count}


def test_exhausted_retries_give_one_sentence(server, fake):
    fake.faults.add(Fault("status", status=503, count=10, path="/api/lists"))
    policy = RetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_max=0.02, backoff_jitter=0.0)
    with client(server, retry=policy) as c, pytest.raises(KlaviyoUnavailableError) as err:
        c.get("lists")
    msg = str(err.value)
    assert "GET /api/lists" in msg and "3 attempts" in msg and "HTTP 503" in msg
    assert msg.count(". ") == 0 and "\n" not in msg and KEY not in msg
    assert len(fake.requests("/api/lists")) == 3


def test_unreachable_server_is_reported(server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    policy = RetryPolicy(max_attempts=2, backoff_initial=0.01, backoff_max=0.01, backoff_jitter=0.0)
    with KlaviyoClient(KEY, base_url=f"http://127.0.0.1:{port}/api/", retry=policy) as c:
        with pytest.raises(KlaviyoUnavailableError) as err:
            c.get("metrics")
    assert "Could not reach Klaviyo" in str(err.value) and "2 attempts" in str(err.value)
    assert KEY not in str(err.value)


def test_bad_key_stops_at_once_with_one_sentence(server, fake):
    with client(server, key="pk_wrong_key_123") as c, pytest.raises(KlaviyoAuthError) as err:
        c.get("events")
    msg = str(err.value)
    assert err.value.status == 401
    assert "rejected the API key of account 'acme'" in msg and "GET /api/events" in msg
    assert all(scope in msg for scope in REQUIRED_SCOPES)
    assert "pk_wrong_key_123" not in msg and "\n" not in msg
    assert len(fake.requests("/api/events")) == 1  # never retried


def test_missing_scope_names_the_scope(server, fake):
    with client(server, key="metrics-only-key") as c:
        assert c.get("metrics")["data"]
        with pytest.raises(KlaviyoAuthError) as err:
            c.get("events", scope="events:read")
    assert err.value.status == 403
    assert "GET /api/events" in str(err.value) and "the scope events:read" in str(err.value)
    assert "metrics-only-key" not in str(err.value)


def test_400_names_the_request_and_klaviyos_detail(server, fake):
    with client(server) as c, pytest.raises(KlaviyoRequestError) as err:
        c.get("profiles", {"filter": "greater-or-equal(updated,2024-01-01T00:00:00Z)"})
    msg = str(err.value)
    assert err.value.status == 400
    assert msg.startswith("Klaviyo rejected GET /api/profiles for account 'acme' (HTTP 400): ")
    assert "'greater-or-equal' operation is not allowed for field 'updated'" in msg
    assert KEY not in msg and "\n" not in msg
    assert len(fake.requests("/api/profiles")) == 1


def test_repeated_cursor_is_detected_not_followed_forever(server, fake):
    fake.faults.add(Fault("repeat_cursor", path="/api/profiles", after=1))
    pages = []
    with client(server) as c, pytest.raises(KlaviyoPagingError) as err:
        for page in c.paginate("profiles", {"sort": "updated", "page[size]": 100}):
            pages.append(page)
    assert len(pages) == 2  # both pages were handed over before the repeat was seen
    assert "same next-page link twice for GET /api/profiles" in str(err.value)
    assert len(fake.requests("/api/profiles")) == 2


def test_next_link_to_another_host_is_refused():
    seen_hosts = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen_hosts.append(request.url.host)
        doc = {"data": [{"type": "metric", "id": "a"}],
               "links": {"self": str(request.url), "next": "https://evil.example.com/api/metrics?page%5Bcursor%5D=x"}}
        return httpx.Response(200, content=json.dumps(doc).encode())

    with KlaviyoClient(KEY, base_url="https://a.klaviyo.com/api/", transport=httpx.MockTransport(handler)) as c:
        with pytest.raises(KlaviyoPagingError) as err:
            list(c.paginate("metrics"))
    assert seen_hosts == ["a.klaviyo.com"]
    assert "refusing to send the API key" in str(err.value) and KEY not in str(err.value)


def test_secrets_never_appear_in_reprs_errors_or_logs(server, fake, caplog):
    caplog.set_level(logging.DEBUG)
    fake.faults.add(Fault("status", status=500, count=1, path="/api/metrics"))
    account = AccountConfig("acme", KEY, base_url=server.base_url)
    with KlaviyoClient.for_account(account) as c:
        c.retry = FAST
        c.get("metrics")
        texts = [repr(c), repr(account), str(account), caplog.text]
    assert all(KEY not in t for t in texts)
    assert "retrying (server_error" in caplog.text


def test_retry_after_parsing():
    assert parse_retry_after("2") == 2.0 and parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


def test_accounts_from_environment():
    (one,) = load_accounts({"KLAVIYO_API_KEY": KEY})
    assert (one.account_id, one.base_url, one.revision) == ("default", "https://a.klaviyo.com/api/", DEFAULT_REVISION)
    accounts = load_accounts({
        "KLAVIYO_ACCOUNTS": json.dumps([
            {"account_id": "eu", "api_key_env": "KEY_EU", "start": "2024-01-01"},
            {"account_id": "us", "api_key": KEY, "base_url": "http://127.0.0.1:9/api", "revision": "2025-01-15"},
        ]),
        "KEY_EU": "pk_eu", "KLAVIYO_API_KEY": "ignored",
    })
    assert [a.account_id for a in accounts] == ["eu", "us"]
    assert accounts[0].api_key == "pk_eu" and accounts[0].start.isoformat() == "2024-01-01T00:00:00+00:00"
    assert accounts[1].base_url == "http://127.0.0.1:9/api/" and accounts[1].revision == "2025-01-15"


@pytest.mark.parametrize("env, fragment", [
    ({}, "No Klaviyo account is configured"),
    ({"KLAVIYO_ACCOUNTS": "[{'account_id': 'x', 'api_key': '" + KEY + "'"}, "not valid JSON"),
    ({"KLAVIYO_ACCOUNTS": json.dumps([{"account_id": "a", "api_key": KEY}] * 2)}, "lists account 'a' twice"),
    ({"KLAVIYO_ACCOUNTS": json.dumps([{"account_id": "a", "api_key_env": "MISSING"}])}, "MISSING, which is not set"),
    ({"KLAVIYO_ACCOUNTS": json.dumps([{"account_id": "a", "api_key": KEY, "apikey": 1}])}, "unknown keys apikey"),
    ({"KLAVIYO_API_KEY": KEY, "KLAVIYO_REVISION": "latest"}, "is not YYYY-MM-DD"),
])
def test_bad_account_configuration_is_one_sentence(env, fragment):
    with pytest.raises(KlaviyoConfigError) as err:
        load_accounts(env)
    assert fragment in str(err.value) and KEY not in str(err.value)
