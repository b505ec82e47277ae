"""Klaviyo sync: local Klaviyo-compatible server over real HTTP → real Postgres (fresh database per test).

Full sync (exact counts), incremental sync (request filters asserted from the server's
request log), resume after a crash mid-stream (exception after page k; SIGKILL of a
subprocess), every injected fault survived with exact counts, the repeated cursor reported
then resumed, bad key, HTTP 400, several accounts side by side, report ↔ events
reconciliation, the per-account lock and the CLI.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import psycopg
import pytest

from orchestration.klaviyo import (
    AccountConfig,
    KlaviyoAuthError,
    KlaviyoPagingError,
    KlaviyoRequestError,
    SyncLockedError,
    SyncOptions,
    sync_account,
    sync_accounts,
)
from orchestration.klaviyo import __main__ as cli
from orchestration.klaviyo.client import isoformat_z
from orchestration.klaviyo.fake import ENDPOINTS, FakeAccount, FakeAccountConfig, Fault, ThreadedServer, create_app
from orchestration.klaviyo.streams import CAMPAIGNS, REPORT_STATISTICS, STREAMS
from tests.klaviyo_support import kill_events_sync_midway

KEY = "pk_test_sync_key_0001"
# the serial sync (concurrency 1); the parallel one: tests/test_klaviyo_parallel.py
OPTIONS = SyncOptions(timeout=5.0, max_attempts=5, backoff_initial=0.01, backoff_max=0.05, backoff_jitter=0.01,
                      retry_after_cap=2.0, concurrency=1)
TABLES = [s.name for s in STREAMS]
UTC = timezone.utc


SMALL = FakeAccountConfig(customers=300, days=40)  # 300 profiles (3 pages), ~3,500 events


@pytest.fixture()
def account() -> FakeAccount:
    return FakeAccount(SMALL)


@pytest.fixture()
def server(account: FakeAccount):
    with ThreadedServer(create_app({KEY: account})) as srv:
        yield srv


def acct(server, account_id: str = "default", key: str = KEY, **kw) -> AccountConfig:
    return AccountConfig(account_id, key, base_url=server.base_url, **kw)


def query(dsn: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def counts(dsn: str, account_id: str = "default") -> dict[str, int]:
    return {t: query(dsn, f"select count(*) from klaviyo_raw.{t} where account_id = %s", (account_id,))[0][0]
            for t in TABLES}


def expected(account: FakeAccount) -> dict[str, int]:
    c = account.counts()
    return {"metrics": c["metrics"], "lists": c["lists"], "flows": c["flows"], "campaigns": c["campaigns"],
            "profiles": c["profiles"], "events": c["events"], "campaign_values_reports": c["campaign_messages_sent"]}


def state(dsn: str, stream: str, account_id: str = "default") -> tuple:
    rows = query(dsn, "select cursor_value, next_page_url from klaviyo_raw._stream_state "
                      "where account_id = %s and stream = %s", (account_id, stream))
    return rows[0] if rows else (None, None)


def assert_report_reconciles_with_events(fresh_db: str, account: FakeAccount) -> None:
    """Every report row's counts equal what the landed events say for that campaign message."""
    rows = query(fresh_db, """
        with ev as (
            select e.document->'attributes'->'event_properties' as p, m.document->'attributes'->>'name' as metric
            from klaviyo_raw.events e
            join klaviyo_raw.metrics m on m.account_id = e.account_id
             and m.id = e.document->'relationships'->'metric'->'data'->>'id'
        ), by_message as (
            select coalesce(p->>'$attributed_message', p->>'$message') as message_id,
                   count(*) filter (where metric = 'Placed Order' and p ? '$attributed_message'
                                    and not p ? '$attributed_flow') as conversions,
                   coalesce(sum((p->>'$value')::numeric) filter (where metric = 'Placed Order'
                                    and p ? '$attributed_message' and not p ? '$attributed_flow'), 0) as value,
                   count(*) filter (where metric in ('Received Email', 'Received SMS')) as delivered,
                   count(*) filter (where metric = 'Opened Email') as opens,
                   count(*) filter (where metric in ('Clicked Email', 'Clicked SMS')) as clicks
            from ev group by 1
        )
        select r.id, (r.document->'attributes'->'statistics'->>'conversions')::int, b.conversions,
               (r.document->'attributes'->'statistics'->>'conversion_value')::numeric, b.value,
               (r.document->'attributes'->'statistics'->>'delivered')::int, b.delivered,
               (r.document->'attributes'->'statistics'->>'opens')::int, b.opens,
               (r.document->'attributes'->'statistics'->>'clicks')::int, b.clicks
        from klaviyo_raw.campaign_values_reports r
        join by_message b on b.message_id = r.document->'attributes'->'groupings'->>'campaign_message_id'""")
    assert len(rows) == expected(account)["campaign_values_reports"]
    for row in rows:
        assert row[1] == row[2] and row[3] == row[4] and row[5] == row[6] and row[7] == row[8] and row[9] == row[10], row
    assert sum(r[1] for r in rows) > 0


def test_full_sync_lands_exactly_what_the_server_holds(fresh_db, server, account):
    now = datetime.now(UTC).replace(microsecond=0)
    result = sync_account(fresh_db, acct(server), options=OPTIONS, now=now)
    assert result.ok and [s.status for s in result.streams] == ["succeeded"] * 7
    assert counts(fresh_db) == expected(account)
    assert {s.stream: s.rows_written for s in result.streams} == expected(account)

    # documents: full resources; events keep their included metric and attribution
    placed = account.metric_by_name["Placed Order"].id
    attributed = sum(1 for e in account.events if e.metric_id == placed and e.attribution)
    rows = query(fresh_db, """
        select count(*) filter (where document->'included' @> jsonb_build_array(jsonb_build_object('type','metric'))),
               count(*) filter (where document->'included' @> '[{"type": "attribution"}]'),
               count(*) filter (where document->'attributes'->'event_properties' ? '$attributed_message'),
               count(*) filter (where cursor_value = (document->'attributes'->>'datetime')::timestamptz)
        from klaviyo_raw.events""")[0]
    assert rows == (len(account.events), attributed, attributed, len(account.events))
    assert 0 < attributed < len([e for e in account.events if e.metric_id == placed])
    doc = query(fresh_db, "select document from klaviyo_raw.profiles where document->'attributes'->>'external_id' = 'C000001'")
    assert doc[0][0]["attributes"]["email"] == "c000001@example.com" and doc[0][0]["links"]["self"]
    campaign_docs = [r[0] for r in query(fresh_db, "select document from klaviyo_raw.campaigns")]
    assert all(d["included"][0]["type"] == "campaign-message" for d in campaign_docs)
    assert sum(d["attributes"]["archived"] for d in campaign_docs) == 2  # archived campaigns are fetched too

    # state: complete everywhere, events cursor = the sync's start, upserted cursors = max landed
    assert state(fresh_db, "events") == (now, None)
    assert state(fresh_db, "profiles")[0] == max(datetime.fromtimestamp(p.updated, UTC) for p in account.profiles.values())
    assert state(fresh_db, "metrics") == (None, None)
    syncs = query(fresh_db, "select stream, status, rows_written, pages from klaviyo_raw._syncs where sync_id = %s",
                  (result.sync_id,))
    assert {r[0]: r[2] for r in syncs} == expected(account) and {r[1] for r in syncs} == {"succeeded"}

    # requests: page sizes at each endpoint's maximum, the spec's filters, one report request
    log = server.fake.requests()
    for entry in log:
        name = entry["path"].strip("/").split("/")[1]
        if entry["method"] == "GET" and name in ENDPOINTS and entry["query"].get("page[size]") != "1":
            assert entry["query"].get("page[size]") == (str(ENDPOINTS[name].page_max) if ENDPOINTS[name].page_max
                                                        else None), entry
    campaign_filters = [r["query"]["filter"] for r in server.fake.requests("/api/campaigns")]
    assert campaign_filters == list(CAMPAIGNS.partitions)
    assert {r["query"]["filter"] for r in server.fake.requests("/api/flows")} == {
        "equals(archived,false)", "equals(archived,true)"}
    events = [r for r in server.fake.requests("/api/events") if r["query"]["page[size]"] == "1000"]
    assert all(r["query"]["include"] == "metric,attributions" and r["query"]["sort"] == "datetime" for r in events)
    assert all(r["query"]["filter"].startswith("and(greater-or-equal(datetime,") for r in events)
    (report,) = server.fake.requests("/api/campaign-values-reports")
    attrs = report["body"]["data"]["attributes"]
    assert attrs["conversion_metric_id"] == placed and attrs["statistics"] == list(REPORT_STATISTICS)
    assert attrs["group_by"] == ["campaign_id", "campaign_message_id", "send_channel"]
    assert_report_reconciles_with_events(fresh_db, account)


def test_incremental_sync_fetches_only_new_and_changed_rows(fresh_db, server, account):
    t1 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    sync_account(fresh_db, acct(server), options=OPTIONS, now=t1)
    wm = {s: state(fresh_db, s)[0] for s in ("lists", "flows", "campaigns", "profiles", "events")}
    assert wm["events"] == t1

    # change the account: 3 new orders (one attributed to a campaign), 2 changed profiles, a new
    # profile, a changed campaign, list and flow — all after the first sync
    at = t1 + timedelta(minutes=5)
    profiles = sorted(account.profiles.values(), key=lambda p: p.id)
    email_campaign = next(c for c in account.campaigns.values() if c.channel == "email" and c.send_time and not c.archived)
    new_events = [account.add_order(profiles[0].id, 42.5, at, message_id=email_campaign.message_id),
                  account.add_order(profiles[1].id, 10.0, at + timedelta(seconds=1)),
                  account.add_order(profiles[2].id, 99.99, at + timedelta(seconds=30))]
    account.touch_profile(profiles[3].id, at, first_name="Changed")
    account.touch_profile(profiles[4].id, at)
    new_profile = account.add_profile("C999999", at)
    account.touch_campaign(email_campaign.id, at, name="EML_Renamed_001")
    account.touch_list(next(iter(account.lists)), at, name="Newsletter (renamed)")
    account.touch_flow(next(iter(account.flows)), at, status="manual")
    server.fake.clear_requests()

    t2 = t1 + timedelta(minutes=20)
    result = sync_account(fresh_db, acct(server), options=OPTIONS, now=t2)
    assert counts(fresh_db) == expected(account)

    # events: one probe then one slice, both from the cursor minus the lookback, up to the new start
    since = isoformat_z(t1 - OPTIONS.events_lookback)
    ev = server.fake.requests("/api/events")
    assert [r["query"]["filter"] for r in ev] == [f"and(greater-or-equal(datetime,{since}),less-than(datetime,{isoformat_z(t2)}))"] * 2
    assert ev[0]["query"]["page[size]"] == "1" and ev[1]["rows"] == 3
    assert result.stream("events").rows_written == 3
    assert state(fresh_db, "events") == (t2, None)
    ids = {r[0] for r in query(fresh_db, "select id from klaviyo_raw.events where cursor_value >= %s", (t1,))}
    assert ids == {e.id for e in new_events}

    # upserted streams: filter from the watermark (minus 1 s where only greater-than exists)
    (pr,) = server.fake.requests("/api/profiles")
    assert pr["query"]["filter"] == f"greater-than(updated,{isoformat_z(wm['profiles'] - timedelta(seconds=1))})"
    boundary = sum(1 for p in account.profiles.values()
                   if wm["profiles"] - timedelta(seconds=1) < datetime.fromtimestamp(p.updated, UTC) <= wm["profiles"])
    assert result.stream("profiles").rows_received == 3 + boundary
    assert state(fresh_db, "profiles")[0] == at
    camp_filters = [r["query"]["filter"] for r in server.fake.requests("/api/campaigns")]
    assert camp_filters == [f"and({p},greater-or-equal(updated_at,{isoformat_z(wm['campaigns'])}))"
                            for p in CAMPAIGNS.partitions]
    assert result.stream("campaigns").rows_received == 1 + sum(
        1 for c in account.campaigns.values() if c.updated_at == wm["campaigns"].timestamp())
    assert result.stream("lists").rows_received >= 1 and result.stream("flows").rows_received >= 1
    assert result.stream("lists").rows_received + result.stream("flows").rows_received <= 4

    # changed documents replaced (latest wins), no duplicates anywhere
    assert query(fresh_db, "select document->'attributes'->>'first_name' from klaviyo_raw.profiles where id = %s",
                 (profiles[3].id,)) == [("Changed",)]
    assert query(fresh_db, "select document->'attributes'->>'name' from klaviyo_raw.campaigns where id = %s",
                 (email_campaign.id,)) == [("EML_Renamed_001",)]
    assert query(fresh_db, "select count(*) from klaviyo_raw.profiles where id = %s", (new_profile.id,)) == [(1,)]
    attributed = query(fresh_db, "select document->'included' from klaviyo_raw.events where id = %s", (new_events[0].id,))
    assert {r["type"] for r in attributed[0][0]} == {"metric", "attribution"}

    # nothing new: the lookback re-reads the last 15 minutes (the 3 orders), the key drops them
    server.fake.clear_requests()
    third = sync_account(fresh_db, acct(server), ["events"], options=OPTIONS, now=t2 + timedelta(minutes=1))
    assert (third.stream("events").rows_received, third.stream("events").rows_written) == (3, 0)
    # and once the lookback window holds no event, one probe request is all a sync costs
    server.fake.clear_requests()
    fourth = sync_account(fresh_db, acct(server), ["events"], options=OPTIONS, now=t2 + timedelta(hours=1))
    assert len(server.fake.requests("/api/events")) == 1 and fourth.stream("events").rows_received == 0
    assert counts(fresh_db)["events"] == len(account.events)


class Crash(Exception):
    pass


@pytest.mark.parametrize("stream, after_pages, slice_days", [
    ("events", 3, 60),      # mid-slice: the state holds the next link inside the slice
    ("events", 2, 7),       # at a slice boundary: the state holds the next slice's first request
    ("profiles", 1, 7),     # upserted stream, mid-partition
    ("campaigns", 1, 7),    # between partitions: the state holds the next partition's first URL
])
def test_resume_after_a_crash_mid_stream(fresh_db, server, account, stream, after_pages, slice_days):
    options = SyncOptions(**{**OPTIONS.__dict__, "event_slice": timedelta(days=slice_days)})
    now = datetime.now(UTC).replace(microsecond=0)

    def crash(name: str, page: int) -> None:
        if name == stream and page == after_pages:
            raise Crash(f"simulated crash after page {page}")

    with pytest.raises(Crash):
        sync_account(fresh_db, acct(server), [stream], options=options, now=now, on_page=crash)
    landed = counts(fresh_db)[stream]
    cursor, next_url = state(fresh_db, stream)
    assert 0 < landed < expected(account)[stream]
    assert next_url is not None  # the very next request of the interrupted run
    failed = query(fresh_db, "select status, pages, rows_written from klaviyo_raw._syncs")
    assert failed == [("failed", after_pages, landed)]

    server.fake.clear_requests()
    result = sync_account(fresh_db, acct(server), [stream], options=options, now=now + timedelta(seconds=5))
    assert counts(fresh_db)[stream] == expected(account)[stream]
    assert query(fresh_db, f"select count(distinct id) = count(*) from klaviyo_raw.{stream}") == [(True,)]
    # resumed at the saved request: nothing before it is asked again, nothing after it is skipped
    first = server.fake.requests(f"/api/{stream}")[0]
    assert first["query"] == dict(parse_qsl(urlsplit(next_url).query))
    assert result.stream(stream).rows_received == expected(account)[stream] - landed
    assert state(fresh_db, stream)[1] is None


def test_a_refused_or_foreign_saved_link_restarts_the_slice_or_partition(fresh_db, server, account):
    options = SyncOptions(**{**OPTIONS.__dict__, "event_slice": timedelta(days=60)})

    def crash(name: str, page: int) -> None:
        if page == 1:
            raise Crash(name)

    for stream in ("events", "profiles"):
        with pytest.raises(Crash):
            sync_account(fresh_db, acct(server), [stream], options=options, on_page=crash)
    # the saved events cursor expired (Klaviyo answers 400): the slice restarts from its start
    with psycopg.connect(fresh_db) as conn:
        conn.execute("update klaviyo_raw._stream_state set next_page_url = regexp_replace("
                     "next_page_url, 'page%5Bcursor%5D=[^&]+', 'page%5Bcursor%5D=expired') where stream = 'events'")
    server.fake.clear_requests()
    sync_account(fresh_db, acct(server), ["events"], options=options)
    assert [r["status"] for r in server.fake.requests("/api/events")][:2] == [400, 200]
    assert counts(fresh_db)["events"] == len(account.events)
    # the base URL changed since the crash: the saved link (old host) is not followed
    with ThreadedServer(create_app({KEY: account})) as other:
        result = sync_account(fresh_db, acct(other), ["profiles"], options=options)
        assert [r["query"].get("page[cursor]") for r in other.fake.requests("/api/profiles")][0] is None
    assert result.ok and counts(fresh_db)["profiles"] == len(account.profiles)
    assert server.fake.requests("/api/profiles") == []


def test_resume_after_the_process_is_killed(fresh_db, server, account):
    # slow the events down so the subprocess is killed in the middle of the stream
    server.fake.faults.add(Fault("slow", path="/api/events", delay=0.4, count=100, after=1))
    # concurrency 1: the serial sync, whose saved link the rest of this test checks
    kill_events_sync_midway(fresh_db, server.base_url, KEY, concurrency=1, at_least=2_000, timeout=30)
    landed = counts(fresh_db)["events"]
    assert 0 < landed < len(account.events)
    assert query(fresh_db, "select status from klaviyo_raw._syncs") == [("running",)]  # it never got to finish

    server.fake.faults.clear()
    _, next_url = state(fresh_db, "events")
    server.fake.clear_requests()
    result = sync_account(fresh_db, acct(server), ["events"], options=OPTIONS)
    assert counts(fresh_db)["events"] == len(account.events)
    assert result.stream("events").rows_received == len(account.events) - landed  # no page fetched twice
    assert server.fake.requests("/api/events")[0]["query"] == dict(parse_qsl(urlsplit(next_url).query))


@pytest.mark.parametrize("fault", [
    Fault("rate_limit", retry_after=1),
    Fault("status", status=500),
    Fault("status", status=503),
    Fault("slow", delay=1.5),
    Fault("truncate"),
], ids=["429-retry-after", "500", "503", "timeout", "truncated-body"])
def test_sync_survives_each_fault_with_exact_counts(fresh_db, server, account, fault):
    # a short timeout only where the fault is a slow answer (a loaded machine must not add retries)
    options = SyncOptions(**{**OPTIONS.__dict__, "timeout": 0.5 if fault.kind == "slow" else 10.0})
    faulted = ("/api/events", "/api/profiles", "/api/campaign-values-reports")
    for path in faulted:
        after = 0 if path.endswith("reports") else 1  # the report is a single request
        server.fake.faults.add(Fault(**{**fault.__dict__, "path": path, "after": after, "hits": 0}))
    started = time.monotonic()
    result = sync_account(fresh_db, acct(server), options=options)
    assert counts(fresh_db) == expected(account)
    assert server.fake.faults.pending() == [] and len(server.fake.faults.fired) == len(faulted), server.fake.faults.fired
    retries = {s.stream: s.retries for s in result.streams}
    assert all(retries[s] >= 1 for s in ("profiles", "events", "campaign_values_reports")), retries
    reason = {"rate_limit": "rate_limited", "status": "server_error", "slow": "timeout",
              "truncate": "broken_body"}[fault.kind]
    assert result.stats["retry_reasons"][reason] == len(faulted)
    assert query(fresh_db, "select sum(retries) from klaviyo_raw._syncs") == [(result.stats["retries"],)]
    if fault.kind == "rate_limit":  # Retry-After honoured: 3 waits of 1 s
        assert time.monotonic() - started >= 3


def test_repeated_cursor_is_reported_and_the_next_sync_completes(fresh_db, server, account):
    server.fake.faults.add(Fault("repeat_cursor", path="/api/profiles", after=1))
    with pytest.raises(KlaviyoPagingError) as err:
        sync_account(fresh_db, acct(server), options=OPTIONS)
    assert "same next-page link twice for GET /api/profiles" in str(err.value)
    result = err.value.result
    assert [s.status for s in result.streams] == ["succeeded"] * 4 + ["failed", "succeeded", "succeeded"]
    got = counts(fresh_db)
    assert got["profiles"] == 200 and got["events"] == len(account.events)  # the other streams still ran
    assert state(fresh_db, "profiles")[1] is not None  # resumes at the repeated (= unfinished) page

    result = sync_account(fresh_db, acct(server), ["profiles"], options=OPTIONS)
    assert counts(fresh_db)["profiles"] == len(account.profiles) and result.ok


def test_bad_key_is_one_sentence_and_stops_the_account(fresh_db, server):
    with pytest.raises(KlaviyoAuthError) as err:
        sync_account(fresh_db, acct(server, key="pk_bad_key_xyz"), options=OPTIONS)
    msg = str(err.value)
    assert "rejected the API key of account 'default' (HTTP 401 on GET /api/metrics)" in msg
    assert "pk_bad_key_xyz" not in msg and "\n" not in msg and "events:read" in msg
    assert [s.status for s in err.value.result.streams] == ["failed"] + ["skipped"] * 6
    assert len(server.fake.requests()) == 1
    assert sum(counts(fresh_db).values()) == 0
    assert query(fresh_db, "select stream, status from klaviyo_raw._syncs") == [("metrics", "failed")]


def test_http_400_names_the_request(fresh_db, server, account):
    with pytest.raises(KlaviyoRequestError) as err:
        sync_account(fresh_db, acct(server, conversion_metric_id="NOPE42"), options=OPTIONS)
    msg = str(err.value)
    assert msg == ("Klaviyo rejected POST /api/campaign-values-reports for account 'default' (HTTP 400): "
                   "Metric NOPE42 does not exist (parameter conversion_metric_id).")
    got = counts(fresh_db)
    assert got["campaign_values_reports"] == 0 and got["events"] == len(account.events)
    assert query(fresh_db, "select message from klaviyo_raw._syncs where stream = 'campaign_values_reports'") == [(msg,)]


def test_several_accounts_side_by_side(fresh_db, monkeypatch):
    same_a = FakeAccount(FakeAccountConfig(seed=7, customers=100, days=20, email_campaigns=3, sms_campaigns=1))
    same_b = FakeAccount(FakeAccountConfig(seed=7, customers=100, days=20, email_campaigns=3, sms_campaigns=1))
    other = FakeAccount(FakeAccountConfig(seed=8, customers=120, days=20, email_campaigns=2, sms_campaigns=1))
    keys = {"pk_shop_eu": same_a, "pk_shop_us": same_b, "pk_outlet": other}
    with ThreadedServer(create_app(keys)) as srv:
        monkeypatch.setenv("KLAVIYO_KEY_US", "pk_shop_us")
        monkeypatch.setenv("KLAVIYO_ACCOUNTS", json.dumps([
            {"account_id": "eu", "api_key": "pk_shop_eu", "base_url": srv.base_url},
            {"account_id": "us", "api_key_env": "KLAVIYO_KEY_US", "base_url": srv.base_url},
            {"account_id": "outlet", "api_key": "pk_outlet", "base_url": srv.base_url},
        ]))
        results = sync_accounts(fresh_db, options=OPTIONS)
        assert [r.account_id for r in results] == ["eu", "us", "outlet"] and all(r.ok for r in results)
        assert counts(fresh_db, "eu") == counts(fresh_db, "us") == expected(same_a)
        assert counts(fresh_db, "outlet") == expected(other)
        # identical ids in two accounts are two rows (primary key (account_id, id))
        shared = query(fresh_db, "select count(*) from klaviyo_raw.events a join klaviyo_raw.events b "
                                 "on a.id = b.id and a.account_id = 'eu' and b.account_id = 'us'")[0][0]
        assert shared == len(same_a.events)
        assert query(fresh_db, "select count(distinct account_id) from klaviyo_raw._stream_state") == [(3,)]

        # a change in one account reaches only that account
        pid = next(iter(same_b.profiles))
        same_b.add_order(pid, 5.0, datetime.now(UTC) - timedelta(seconds=5))
        results = sync_accounts(fresh_db, streams=["events"], options=OPTIONS)
        assert [r.stream("events").rows_written for r in results] == [0, 1, 0]
        assert counts(fresh_db, "us")["events"] == counts(fresh_db, "eu")["events"] + 1


def test_a_second_sync_of_the_same_account_is_refused_while_one_runs(fresh_db, server):
    sync_account(fresh_db, acct(server), ["metrics"], options=OPTIONS)
    with psycopg.connect(fresh_db, autocommit=True) as holder:
        holder.execute("select pg_advisory_lock(hashtextextended('klaviyo sync default', 0))")
        with pytest.raises(SyncLockedError) as err:
            sync_account(fresh_db, acct(server), ["metrics"], options=OPTIONS)
        assert "Another Klaviyo sync of account 'default' is running" in str(err.value)
        other = sync_account(fresh_db, acct(server, account_id="other"), ["metrics"], options=OPTIONS)
        assert other.ok


def test_cli_sync_and_status(fresh_db, server, account, monkeypatch, capsys):
    monkeypatch.setenv("WAREHOUSE_DSN", fresh_db)
    monkeypatch.setenv("KLAVIYO_API_KEY", KEY)
    monkeypatch.setenv("KLAVIYO_BASE_URL", server.base_url)
    monkeypatch.delenv("KLAVIYO_ACCOUNTS", raising=False)
    assert cli.main(["sync", "--stream", "metrics", "--stream", "lists"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[0].split()[:3] == ["default", "metrics", "succeeded"]
    assert cli.main(["status"]) == 0
    assert "lists" in capsys.readouterr().out
    assert cli.main(["sync", "--account", "nope"]) == 2
    assert "Klaviyo account 'nope' is not configured" in capsys.readouterr().err
    monkeypatch.setenv("KLAVIYO_API_KEY", "pk_wrong")
    assert cli.main(["sync", "--stream", "metrics"]) == 1
    captured = capsys.readouterr()
    assert "HTTP 401" in captured.out and "pk_wrong" not in captured.out + captured.err


def test_cli_init_creates_the_empty_stream_tables_once(fresh_db, capsys):
    """`init`: the loader's own DDL, for a warehouse that builds the dbt models without a sync."""
    assert cli.main(["init", "--dsn", fresh_db]) == 0
    assert "klaviyo_raw is ready" in capsys.readouterr().out
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("insert into klaviyo_raw.metrics (account_id, id, document, _sync_id) values ('a', 'm', '{}', 's')")
        assert cli.main(["init", "--dsn", fresh_db]) == 0  # idempotent: rows stay
        tables = {r[0] for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'klaviyo_raw'")}
        assert conn.execute("select count(*) from klaviyo_raw.metrics").fetchone() == (1,)
    assert {stream.name for stream in STREAMS} <= tables


def test_init_upgrades_tables_made_before_lz4_and_the_load_time_index(fresh_db):
    """A warehouse whose klaviyo_raw predates lz4 documents and the _loaded_at index gets both
    from the next init (rows kept); the incremental staging model depends on the index."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("""
            create schema klaviyo_raw;
            create table klaviyo_raw.events (
                account_id text not null, id text not null, cursor_value timestamptz,
                document jsonb not null, _sync_id text not null,
                _loaded_at timestamptz not null default now(), primary key (account_id, id));
            insert into klaviyo_raw.events (account_id, id, document, _sync_id) values ('a', 'e', '{}', 's');
        """)
        assert cli.main(["init", "--dsn", fresh_db]) == 0
        compression = dict(conn.execute("""
            select c.relname, a.attcompression from pg_attribute as a
            join pg_class as c on c.oid = a.attrelid
            where c.relnamespace = 'klaviyo_raw'::regnamespace and c.relkind = 'r' and a.attname = 'document'
        """).fetchall())
        assert compression == {stream.name: "l" for stream in STREAMS}
        assert conn.execute(
            "select indexdef from pg_indexes where schemaname = 'klaviyo_raw' and indexname = 'events_loaded_at_idx'"
        ).fetchone() == ("CREATE INDEX events_loaded_at_idx ON klaviyo_raw.events USING btree (_loaded_at)",)
        assert conn.execute("select count(*) from klaviyo_raw.events").fetchone() == (1,)
