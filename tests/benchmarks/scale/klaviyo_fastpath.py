"""Klaviyo raw documents at volume, written straight into ``klaviyo_raw`` (no HTTP).

The documents are exactly what a sync stores: the fake server's renderers
(``orchestration.klaviyo.fake.app.render_*`` / ``COLLECTIONS``) build each resource as the
API returns it, the sync's own :func:`orchestration.klaviyo.sync.page_rows` attaches the
``included`` metric/attribution resources, and :func:`orchestration.klaviyo.store.json_text`
serialises them. Rows go in with ``COPY`` in chunks, into the tables
:func:`orchestration.klaviyo.store.ensure_schema` creates, naming only the columns
``account_id, id, cursor_value, document, _sync_id`` and ``_loaded_at`` (anything else is
left to the DDL's defaults). The history's ``_loaded_at`` is a day before the benchmark's
new day is loaded, as when the account was synced the day before.

Events are generated profile chunk by profile chunk (:class:`ChunkedAccount`), so memory
stays bounded by the chunk, not by the event count. Every Klaviyo event belongs to one
profile, so a chunk's events (campaign and flow engagement, orders, native attribution)
only need that chunk's profiles; the random draws come in another order than in
:class:`FakeAccount`, so the events are alike in kind and rates, not byte-identical to
the server's.

Run as a child process (``python -m tests.benchmarks.scale.klaviyo_fastpath``) so its peak
RSS can be measured; the DSN comes from ``WAREHOUSE_DSN``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import psycopg

from orchestration.demo import DemoConfig
from orchestration.klaviyo import store
from orchestration.klaviyo.fake.app import COLLECTIONS, render_attribution, render_event, render_metric
from orchestration.klaviyo.fake.data import Event, FakeAccount, FakeAccountConfig, Profile, Touch
from orchestration.klaviyo.streams import (
    CONVERSION_METRIC_NAME, EVENTS, REPORT_GROUP_BY, REPORT_STATISTICS, STREAMS_BY_NAME,
)
from orchestration.klaviyo.sync import page_rows, report_row_id

#: Where the documents' links point (what a real sync stores).
BASE_URL = "https://a.klaviyo.com"
ACCOUNT_ID = "bench"
#: Profiles per generation chunk (≈ 21 events each at the config below: ~100k events in memory).
CHUNK_PROFILES = 5_000
#: Rows rendered and sent per COPY statement / transaction.
COPY_ROWS = 10_000
#: Days the campaign-values report covers (the sync's default ``report_days``).
REPORT_DAYS = 365


def account_config(demo: DemoConfig) -> FakeAccountConfig:
    """The benchmark's Klaviyo account for ``demo``: half of the customers are profiles
    (``profile_share=0.5``), 12 email and 4 SMS campaigns (+1 draft each) over the window.

    Measured: ~21 events per profile (welcome flow, campaign sends and their
    opens/clicks, Placed/Cancelled Order for every order of a profile, cart and
    thank-you flows, attribution), i.e. ~1.05M events per 100,000 customers with
    ~10 order lines each — ~1M × SCALE. The demo's own 3 % mirror gives ~0.1M."""
    return FakeAccountConfig.mirroring(demo, profile_share=0.5, email_campaigns=12, sms_campaigns=4,
                                       account_id=ACCOUNT_ID)


class ChunkedAccount(FakeAccount):
    """A :class:`FakeAccount` whose events are made on demand, ``CHUNK_PROFILES`` profiles
    at a time (:meth:`event_chunks`), instead of all at once in the constructor."""

    def _generate(self) -> None:
        # the same customers, profiles and order lines as FakeAccount._generate; events later
        order_lines = self._make_population()
        self._order_frame = order_lines[["order_id", "customer_id", "ordered_at", "quantity", "unit_price",
                                         "product_name"]].reset_index(drop=True)
        self._order_rows = self._order_frame.groupby("customer_id", sort=False).indices

    def event_chunks(self, size: int = CHUNK_PROFILES) -> Iterator[tuple[list[Profile], list[Event]]]:
        """(profiles, their events) per chunk of ``size`` profiles; a chunk's profiles have
        their ``last_event`` set once it is yielded (their documents are final)."""
        everyone = self.profiles
        ordered = list(everyone.values())
        for lo in range(0, len(ordered), size):
            chunk = {p.id: p for p in ordered[lo:lo + size]}
            self.profiles = chunk  # the parent's builders iterate self.profiles
            try:
                pending: list[Event] = []
                touches: dict[str, list[Touch]] = defaultdict(list)
                self._campaign_events(pending, touches)
                self._flow_events(pending, touches)
                rows = [self._order_rows[p.customer_id] for p in chunk.values() if p.customer_id in self._order_rows]
                index = np.sort(np.concatenate(rows)) if rows else np.array([], dtype=np.int64)
                self._order_events(self._order_frame.iloc[index], pending, touches)
                self._attribute(pending, touches)
            finally:
                self.profiles = everyone
            pending = [e for e in pending if e.ts < self.end_ts]
            for e in pending:
                p = chunk[e.profile_id]
                if p.last_event is None or e.ts > p.last_event:
                    p.last_event = e.ts
            self.orders.clear()
            self.attributions.clear()
            yield list(chunk.values()), pending


# -- documents → rows ---------------------------------------------------------------------------

def event_rows(account: FakeAccount, events: list[Event]) -> list[store.Row]:
    """The rows a sync lands for these events (``include=metric,attributions``, as the
    server answers one page: resources + ``included``, then the sync's ``page_rows``)."""
    includes = set(EVENTS.include)
    data = [render_event(e, BASE_URL, includes) for e in events]
    included: dict[tuple[str, str], dict[str, Any]] = {}
    for e in events:
        if ("metric", e.metric_id) not in included:
            included[("metric", e.metric_id)] = render_metric(account.metrics[e.metric_id], BASE_URL)
        if e.attribution is not None:
            included[("attribution", e.attribution.id)] = render_attribution(e.attribution, BASE_URL)
    return page_rows(EVENTS, data, list(included.values()))


def collection_rows(account: FakeAccount, stream: str, items: Iterable[Any] | None = None) -> list[store.Row]:
    """Rows of a collection stream (metrics, lists, flows, campaigns, profiles) with the
    stream's ``include`` resources, as the sync lands them."""
    coll = COLLECTIONS[stream]
    includes = set(STREAMS_BY_NAME[stream].include)
    items = list(coll.items(account) if items is None else items)
    data = [coll.render(x, BASE_URL, includes, account) for x in items]
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for x in items:
        for inc in includes:
            for r in coll.related(x, inc, BASE_URL, account):
                seen.setdefault((r["type"], r["id"]), r)
    return page_rows(STREAMS_BY_NAME[stream], data, list(seen.values()))


def copy_rows(conn: psycopg.Connection, table: str, account_id: str, sync_id: str, rows: list[store.Row],
              loaded_at: datetime | None = None) -> int:
    """``COPY`` rows into ``klaviyo_raw.<table>`` in ``COPY_ROWS`` batches (one transaction each),
    stamped ``loaded_at`` (None: the column's default, the transaction's time)."""
    columns = "account_id, id, cursor_value, document, _sync_id" + (", _loaded_at" if loaded_at else "")
    statement = f"copy {store.SCHEMA}.{table} ({columns}) from stdin"
    stamp = (loaded_at,) if loaded_at else ()
    for lo in range(0, len(rows), COPY_ROWS):
        with conn.transaction(), conn.cursor() as cur, cur.copy(statement) as copy:
            for r in rows[lo:lo + COPY_ROWS]:
                copy.write_row((account_id, r.id, r.cursor_value, store.json_text(r.document), sync_id, *stamp))
    return len(rows)


# -- the report ---------------------------------------------------------------------------------

class ReportTotals:
    """Campaign-values statistics summed over chunks (every statistic asked is a count or
    a sum, and a profile is in one chunk only, so unique counts add up exactly)."""

    def __init__(self, account: FakeAccount) -> None:
        self.account = account
        self.end = account.end_ts
        self.start = self.end - REPORT_DAYS * 86_400
        self.metric_id = account.metric_by_name[CONVERSION_METRIC_NAME].id
        self.totals: dict[tuple[str, ...], dict[str, Any]] = {}

    def add(self, events: list[Event]) -> None:
        """Add one chunk's events."""
        acct = self.account
        ordered = sorted(events, key=lambda e: (e.ts, e.id))
        acct._events, acct._keys = ordered, [(e.ts, e.id) for e in ordered]
        try:
            results = acct.campaign_values(self.start, self.end, list(REPORT_STATISTICS), self.metric_id,
                                           list(REPORT_GROUP_BY))
        finally:
            acct._events, acct._keys = [], []
        for r in results:
            key = tuple(str(r["groupings"].get(k)) for k in REPORT_GROUP_BY)
            slot = self.totals.setdefault(key, {"groupings": r["groupings"], "statistics": defaultdict(float)})
            for name, value in r["statistics"].items():
                slot["statistics"][name] += value

    def rows(self) -> list[store.Row]:
        """One row per campaign message, shaped as ``sync._sync_report`` stores it."""
        start = datetime.fromtimestamp(self.start, timezone.utc)
        end = datetime.fromtimestamp(self.end, timezone.utc)
        request = {"statistics": list(REPORT_STATISTICS),
                   "timeframe": {"start": start.isoformat().replace("+00:00", "Z"),
                                 "end": end.isoformat().replace("+00:00", "Z")},
                   "conversion_metric_id": self.metric_id, "group_by": list(REPORT_GROUP_BY)}
        rows = []
        for slot in self.totals.values():
            stats = {k: (round(v, 2) if k == "conversion_value" else int(v)) for k, v in slot["statistics"].items()}
            row_id = report_row_id(slot["groupings"], start, end)
            rows.append(store.Row(row_id, None, {
                "type": "campaign-values-report", "id": row_id,
                "attributes": {"groupings": slot["groupings"], "statistics": stats}, "request": request,
                "links": {"self": f"{BASE_URL}/api/campaign-values-reports/"}}))
        return rows


# -- the whole account --------------------------------------------------------------------------

@dataclass
class FastPathResult:
    """Rows written per table and the account (its profiles, campaigns, ids; no events)."""

    rows: dict[str, int]
    account: ChunkedAccount


def write_account(conn: psycopg.Connection, demo: DemoConfig, sync_id: str = "bench-fastpath",
                  loaded_at: datetime | None = None) -> FastPathResult:
    """Generate the benchmark account for ``demo`` and write all of its streams and its
    stream state, stamped ``loaded_at`` (default: a day ago); returns rows per table."""
    loaded_at = loaded_at or datetime.now(timezone.utc) - timedelta(days=1)
    store.ensure_schema(conn)
    account = ChunkedAccount(account_config(demo))
    counts: dict[str, int] = defaultdict(int)
    for stream in ("metrics", "lists", "flows", "campaigns"):
        counts[stream] += copy_rows(conn, stream, ACCOUNT_ID, sync_id, collection_rows(account, stream), loaded_at)
    report = ReportTotals(account)
    for profiles, events in account.event_chunks():
        for lo in range(0, len(events), COPY_ROWS):  # rendered documents: one batch at a time
            counts["events"] += copy_rows(conn, "events", ACCOUNT_ID, sync_id,
                                          event_rows(account, events[lo:lo + COPY_ROWS]), loaded_at)
        counts["profiles"] += copy_rows(conn, "profiles", ACCOUNT_ID, sync_id,
                                        collection_rows(account, "profiles", profiles), loaded_at)
        report.add(events)
    counts["campaign_values_reports"] += copy_rows(conn, "campaign_values_reports", ACCOUNT_ID, sync_id,
                                                   report.rows(), loaded_at)
    write_state(conn, ACCOUNT_ID, account.end_ts)
    return FastPathResult(dict(counts), account)


def write_state(conn: psycopg.Connection, account_id: str, end_ts: float) -> None:
    """Stream state as a finished sync leaves it: each stream's cursor at the highest value
    landed (events: the sync's end), no next page."""
    end = datetime.fromtimestamp(end_ts, timezone.utc)
    with conn.transaction():
        for stream in STREAMS_BY_NAME.values():
            cursor = end if stream.kind != "collection" or not stream.cursor_field else \
                store.max_cursor(conn, account_id, stream.name)
            store.put_state(conn, account_id, stream.name, cursor, None)


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.benchmarks.scale.klaviyo_fastpath --config '<DemoConfig json>'``;
    prints the rows written as JSON."""
    parser = argparse.ArgumentParser(description="Write the benchmark's Klaviyo account into WAREHOUSE_DSN.")
    parser.add_argument("--config", required=True, help="DemoConfig fields as JSON")
    args = parser.parse_args(argv)
    fields = json.loads(args.config)
    fields["start"] = datetime.fromisoformat(fields["start"]).date()
    demo = DemoConfig(**fields)
    with psycopg.connect(os.environ["WAREHOUSE_DSN"], autocommit=True) as conn:
        result = write_account(conn, demo)
    json.dump({"rows": result.rows}, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
