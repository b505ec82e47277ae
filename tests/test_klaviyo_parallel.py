"""Parallel Klaviyo sync (time slices of events and profiles under one shared rate limiter):
local Klaviyo-compatible server with latency and rate limits over real HTTP → real Postgres.

Exact landing (ids compared with the server's, rows identical to the serial sync's), a
crash in a worker and a SIGKILL of the process both resumed exactly, zero rate-limit
violations on the server under burst pressure, injected 429s honoured. No timed assertions.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from orchestration.klaviyo import AccountConfig, SyncOptions, sync_account
from orchestration.klaviyo.client import KlaviyoClient
from orchestration.klaviyo.fake import FakeAccount, FakeAccountConfig, Fault, ThreadedServer, create_app
from orchestration.klaviyo.fake.limits import Window as ServerWindow
from orchestration.klaviyo.ratelimit import RateLimiter, Window
from tests.klaviyo_support import kill_events_sync_midway

KEY = "pk_test_parallel_0001"
UTC = timezone.utc
OPTIONS = SyncOptions(timeout=10.0, max_attempts=6, backoff_initial=0.01, backoff_max=0.05, backoff_jitter=0.01,
                      retry_after_cap=5.0, concurrency=8)
# limits far below Klaviyo's so 8 workers press against them within seconds
EVENTS_WINDOWS, PROFILES_WINDOWS = ((6, 0.5), (40, 3.0)), ((5, 0.5), (30, 3.0))
SERVER_LIMITS = {("GET", "/api/events"): tuple(ServerWindow(*w) for w in EVENTS_WINDOWS),
                 ("GET", "/api/profiles"): tuple(ServerWindow(*w) for w in PROFILES_WINDOWS)}
CLIENT_LIMITS = {("GET", "events"): tuple(Window(*w) for w in EVENTS_WINDOWS),
                 ("GET", "profiles"): tuple(Window(*w) for w in PROFILES_WINDOWS)}
STREAMS = ["profiles", "events"]


@pytest.fixture(scope="module")
def account() -> FakeAccount:
    return FakeAccount(FakeAccountConfig(customers=1500, days=30))  # 1,500 profiles, ~26,000 events


@pytest.fixture()
def server(account: FakeAccount):
    with ThreadedServer(create_app({KEY: account}, latency=0.02, klaviyo_limits=SERVER_LIMITS)) as srv:
        yield srv


def acct(server, account_id: str = "default") -> AccountConfig:
    return AccountConfig(account_id, KEY, base_url=server.base_url)


def sync(dsn: str, server, options: SyncOptions = OPTIONS, account_id: str = "default", **kw):
    """One sync through a client limited like the server (what production does with Klaviyo's limits)."""
    account = acct(server, account_id)
    with KlaviyoClient.for_account(account, options, limiter=RateLimiter(CLIENT_LIMITS)) as client:
        return sync_account(dsn, account, kw.pop("streams", STREAMS), options=options, client=client, **kw)


def query(dsn: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def ids(dsn: str, table: str, account_id: str = "default") -> list[str]:
    return [r[0] for r in query(dsn, f"select id from klaviyo_raw.{table} where account_id = %s", (account_id,))]


def violations(server) -> int:
    return server.fake.ratelimits.total_violations()


def assert_exact(dsn: str, account: FakeAccount, account_id: str = "default") -> None:
    events, profiles = ids(dsn, "events", account_id), ids(dsn, "profiles", account_id)
    assert len(events) == len(set(events)) and sorted(events) == sorted(e.id for e in account.events)
    assert len(profiles) == len(set(profiles)) and sorted(profiles) == sorted(account.profiles)
    assert query(dsn, "select count(*) from klaviyo_raw._slice_state where account_id = %s", (account_id,)) == [(0,)]


def test_parallel_sync_lands_exactly_the_servers_rows_like_the_serial_sync(fresh_db, server, account):
    now = datetime.now(UTC).replace(microsecond=0)
    result = sync(fresh_db, server, now=now)
    assert [s.status for s in result.streams] == ["succeeded", "succeeded"]
    assert_exact(fresh_db, account)
    events = result.stream("events")
    assert events.rows_received == events.rows_written == len(account.events)  # each event read once
    assert violations(server) == 0 and server.fake.ratelimits.throttled() == {}

    # it really ran in parallel slices: many distinct filters, more than one worker's worth
    filters = {r["query"]["filter"] for r in server.fake.requests("/api/events") if r["query"]["page[size]"] == "1000"}
    assert len(filters) >= 8
    assert len({r["query"].get("filter") for r in server.fake.requests("/api/profiles")}) >= 8

    # state: events cursor = the sync's start, profiles = the highest `updated` landed
    cursors = dict(query(fresh_db, "select stream, cursor_value from klaviyo_raw._stream_state "
                                   "where next_page_url is null"))
    assert cursors["events"] == now
    assert cursors["profiles"] == max(datetime.fromtimestamp(p.updated, UTC) for p in account.profiles.values())

    # the same rows, to the byte, as the serial sync lands
    sync(fresh_db, server, SyncOptions(**{**OPTIONS.__dict__, "concurrency": 1}), account_id="serial", now=now)
    for table in STREAMS:
        differ = query(fresh_db, f"""
            select count(*) from (
                (select id, cursor_value, document from klaviyo_raw.{table} where account_id = 'default'
                 except select id, cursor_value, document from klaviyo_raw.{table} where account_id = 'serial')
                union all
                (select id, cursor_value, document from klaviyo_raw.{table} where account_id = 'serial'
                 except select id, cursor_value, document from klaviyo_raw.{table} where account_id = 'default')) d""")
        assert differ == [(0,)], table


def test_a_crash_in_a_worker_then_resume_is_exact(fresh_db, server, account):
    def crash(stream: str, page: int) -> None:
        if stream == "events" and page == 9:
            raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError, match="simulated crash"):
        sync(fresh_db, server, on_page=crash)
    landed = len(ids(fresh_db, "events"))
    assert 0 < landed < len(account.events)
    left = query(fresh_db, "select count(*) filter (where not done), count(*) from klaviyo_raw._slice_state "
                           "where stream = 'events'")[0]
    assert 0 < left[0] <= left[1]

    server.fake.clear_requests()
    result = sync(fresh_db, server, SyncOptions(**{**OPTIONS.__dict__, "concurrency": 3}))
    assert_exact(fresh_db, account)
    # no committed page was asked again: the resumed run received exactly the missing events
    assert result.stream("events").rows_received == len(account.events) - landed
    assert not [r for r in server.fake.requests("/api/events") if r["query"].get("page[size]") == "1"]  # no re-plan
    assert violations(server) == 0


def test_a_killed_process_resumes_with_no_gap_and_no_duplicate(fresh_db, server, account):
    server.fake.faults.add(Fault("slow", path="/api/events", delay=0.3, count=200, after=2))
    kill_events_sync_midway(fresh_db, server.base_url, KEY, concurrency=4, at_least=3_000, timeout=60)
    landed = len(ids(fresh_db, "events"))
    assert 0 < landed < len(account.events)
    server.fake.faults.clear()
    result = sync(fresh_db, server, streams=["events"])
    events = ids(fresh_db, "events")
    assert len(events) == len(set(events)) and sorted(events) == sorted(e.id for e in account.events)
    assert result.stream("events").rows_received == len(account.events) - landed


def test_injected_429s_are_honoured_by_all_workers(fresh_db, server, account):
    server.fake.faults.add(Fault("rate_limit", path="/api/events", retry_after=1, count=3, after=5),
                           Fault("rate_limit", path="/api/profiles", retry_after=1, count=2, after=3))
    result = sync(fresh_db, server)
    assert_exact(fresh_db, account)
    assert len(server.fake.faults.fired) == 5 and result.stats["retry_reasons"]["rate_limited"] == 5
    assert violations(server) == 0, server.fake.ratelimits.violations()


def test_an_incremental_parallel_sync_adds_exactly_the_new_rows(fresh_db):
    account = FakeAccount(FakeAccountConfig(customers=300, days=40))  # its own: the test adds an event
    with ThreadedServer(create_app({KEY: account}, latency=0.02, klaviyo_limits=SERVER_LIMITS)) as server:
        t1 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
        sync(fresh_db, server, now=t1)
        before = len(ids(fresh_db, "events"))
        new = account.add_event("Placed Order", next(iter(account.profiles)), t1 + timedelta(minutes=5),
                                {"$value": 10.0})
        result = sync(fresh_db, server, now=t1 + timedelta(minutes=10))
        assert result.stream("events").rows_written == 1
        assert len(ids(fresh_db, "events")) == before + 1 and new.id in ids(fresh_db, "events")
        assert_exact(fresh_db, account)
        assert violations(server) == 0
