"""Klaviyo rate limits: the constants against the spec, the server's violation count, the
client's shared limiter (burst + steady windows, Retry-After) over real HTTP.

No timed assertions: the server referees (its violation count), the tests count requests.
Each test that expects zero violations has a twin that drives the same server with a
client that does not honour the limit and must produce violations — so a server that never
counted could not pass.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

from orchestration.klaviyo.client import KlaviyoClient, RetryPolicy
from orchestration.klaviyo.fake import FakeAccount, FakeAccountConfig, Fault, ThreadedServer, create_app
from orchestration.klaviyo.fake.limits import SPEC_RATE_LIMITS
from orchestration.klaviyo.fake.limits import Window as ServerWindow
from orchestration.klaviyo.ratelimit import KLAVIYO_LIMITS, RateLimiter, Window

KEY = "pk_test_ratelimit_0001"
SPEC = "klaviyo_openapi/stable.json"
# small windows so a test builds real burst pressure in a few seconds
BURST, STEADY = (4, 0.5), (12, 3.0)
SERVER_LIMITS = {("GET", "/api/metrics"): (ServerWindow(*BURST), ServerWindow(*STEADY))}
CLIENT_LIMITS = {("GET", "metrics"): (Window(*BURST), Window(*STEADY))}
UNLIMITED = {("GET", "metrics"): (Window(10_000, 1.0),)}


def _spec_limit(text: str) -> tuple[int, str]:
    number, _, unit = text.partition("/")
    return int(number), unit


def test_the_limit_constants_are_the_specs(shared_data: Path):
    path = shared_data / SPEC
    if not path.is_file():
        pytest.skip(f"Klaviyo's OpenAPI spec not found at {path}")
    paths = json.loads(path.read_text())["paths"]
    for (method, api_path), (burst, steady) in SPEC_RATE_LIMITS.items():
        declared = paths[api_path][method.lower()]["x-klaviyo-ratelimit"]
        assert _spec_limit(declared["burst"]) == (burst, "s"), api_path
        assert _spec_limit(declared["steady"]) == (steady, "m"), api_path
        # the client's own copy says the same
        assert KLAVIYO_LIMITS[(method, api_path.removeprefix("/api/"))] == (burst, steady)
    assert len(KLAVIYO_LIMITS) == len(SPEC_RATE_LIMITS)


@pytest.fixture()
def server():
    account = FakeAccount(FakeAccountConfig(customers=50, days=14))
    with ThreadedServer(create_app({KEY: account}, latency=0.01, klaviyo_limits=SERVER_LIMITS)) as srv:
        yield srv


def _client(server, windows, **kw) -> KlaviyoClient:
    retry = kw.pop("retry", RetryPolicy(max_attempts=20, backoff_initial=0.01, backoff_max=0.05,
                                        backoff_jitter=0.0, retry_after_cap=5.0))
    return KlaviyoClient(KEY, base_url=server.base_url, account_id="acme", retry=retry,
                         limiter=RateLimiter(windows), **kw)


def _hammer(client: KlaviyoClient, threads: int, per_thread: int) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(per_thread):
                client.get("metrics")
        except BaseException as exc:  # noqa: BLE001 - collected, asserted below
            errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors[0]


def _report(server) -> dict:
    return httpx.get(f"{server.url}/__admin/ratelimits").json()


def test_a_client_ignoring_the_limits_is_counted(server):
    with _client(server, UNLIMITED) as c:
        _hammer(c, threads=8, per_thread=4)
    report = _report(server)
    assert report["total_violations"] > 0
    assert report["violations"][server.fake.accounts[KEY].account_id]["GET /api/metrics over_limit"] > 0


def test_the_shared_limiter_never_violates_under_burst_pressure(server):
    # 8 threads × 4 requests = 32 > 2.5 steady windows' worth of requests, all wanting to go at once
    with _client(server, CLIENT_LIMITS) as c:
        _hammer(c, threads=8, per_thread=4)
        stats = c.stats
    report = _report(server)
    assert report["total_violations"] == 0, report
    assert report["throttled"] == {}  # not a single 429 was needed
    assert stats.requests == 32 and stats.retries == 0
    logged = server.fake.requests("/api/metrics")
    assert len(logged) == 32 and all(r["status"] == 200 for r in logged)


def test_retry_after_is_honoured_by_every_thread(server):
    # injected 429s with Retry-After: 1 s — all threads must wait, not just the throttled one
    server.fake.faults.add(Fault("rate_limit", path="/api/metrics", retry_after=1, count=2, after=3))
    with _client(server, CLIENT_LIMITS) as c:
        _hammer(c, threads=6, per_thread=3)
        stats = c.stats
    report = _report(server)
    assert len(server.fake.faults.fired) == 2 and stats.retry_reasons["rate_limited"] == 2
    assert report["total_violations"] == 0, report


def test_a_client_ignoring_retry_after_is_counted(server):
    server.fake.faults.add(Fault("rate_limit", path="/api/metrics", retry_after=2, count=1, after=3))
    careless = RetryPolicy(max_attempts=20, backoff_initial=0.01, backoff_max=0.05, backoff_jitter=0.0,
                           retry_after_cap=0.0)  # waits 0 s instead of the Retry-After
    with _client(server, CLIENT_LIMITS, retry=careless) as c:
        # keep asking while the Retry-After runs (each answer takes the server's latency)
        for _ in range(60):
            c.get("metrics")
            if _report(server)["total_violations"]:
                break
    report = _report(server)
    assert report["violations"][server.fake.accounts[KEY].account_id]["GET /api/metrics retry_after"] > 0
