"""BI query timings: the Evidence dashboards' source queries and a few typical ad-hoc ones.

Each query runs ``WARMUPS`` times untimed, then ``RUNS`` times through psycopg fetching every
row; p50/p95 are of those runs. ``EXPLAIN`` (no ANALYZE) names every table read with a
Seq Scan whose row count (``pg_class.reltuples``) is over ``BIG_TABLE_ROWS``.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

from orchestration.settings import REPO_ROOT

DASHBOARD_SOURCES = REPO_ROOT / "dashboards" / "sources" / "warehouse"
WARMUPS, RUNS = 2, 20
BIG_TABLE_ROWS = 100_000

#: Typical BI questions (name → SQL); they anchor on the newest day in the marts, not today.
TYPICAL: dict[str, str] = {
    "channel_paid_search_30d": """
        select period_start, spend, revenue, roi, roas from marts.fct_channel_performance
        where grain = 'day' and channel = 'paid_search'
          and period_start > (select max(period_start) from marts.fct_channel_performance) - 30
        order by period_start""",
    "channel_paid_search_90d_by_campaign": """
        select campaign_key, sum(spend) as spend, sum(revenue) as revenue, sum(conversions) as conversions
        from marts.fct_campaign_daily
        where channel = 'paid_search'
          and date_day > (select max(date_day) from marts.fct_campaign_daily) - 90
        group by campaign_key order by revenue desc""",
    "cohort_one_month": """
        select c.months_since_first_purchase, c.cohort_size, c.retention_rate, c.cumulative_revenue_per_customer,
               (select count(*) from marts.dim_customers d where d.cohort_month = c.cohort_month
                  and d.acquisition_channel = 'paid_social') as paid_social_customers
        from marts.fct_customer_cohorts c
        where c.cohort_month = (select min(cohort_month) + interval '6 months' from marts.fct_customer_cohorts)
        order by c.months_since_first_purchase""",
    "campaign_one": """
        select d.date_day, d.spend, d.revenue, d.clicks, p.roi as lifetime_roi
        from marts.fct_campaign_daily d
        join marts.fct_campaign_performance p using (campaign_key)
        where d.campaign_key = (select campaign_key from marts.fct_campaign_performance
                                order by spend desc nulls last, campaign_key limit 1)
        order by d.date_day""",
    "email_campaign_one": """
        select m.campaign_message_id, m.subject, m.recipients, m.unique_opens, m.unique_clicks,
               m.attributed_revenue, c.open_rate, c.click_rate
        from marts.fct_email_campaign_message_performance m
        join marts.fct_email_campaign_performance c using (account_id, campaign_id)
        where c.campaign_id = (select campaign_id from marts.fct_email_campaign_performance
                               order by recipients desc nulls last, campaign_id limit 1)""",
}


@dataclass
class QueryTiming:
    """One query's timings (ms), rows, and large tables read by a Seq Scan."""

    name: str
    p50_ms: float | None = None
    p95_ms: float | None = None
    rows: int | None = None
    seq_scans: list[str] = field(default_factory=list)
    error: str | None = None

    def line(self) -> str:
        if self.error:
            return f"{self.name:<40} skipped: {self.error}"
        seq = ", ".join(self.seq_scans) or "-"
        return f"{self.name:<40} p50 {self.p50_ms:8.1f} ms  p95 {self.p95_ms:8.1f} ms  {self.rows:>9,} rows  seq scan >100k: {seq}"


def all_queries() -> dict[str, str]:
    """The dashboard source queries (``dashboards/<file>``) and the typical ones."""
    out = {f"dashboards/{p.stem}": p.read_text(encoding="utf-8") for p in sorted(DASHBOARD_SOURCES.glob("*.sql"))}
    out.update(TYPICAL)
    return out


def _plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def big_seq_scans(conn: psycopg.Connection, query: str) -> list[str]:
    """Tables over ``BIG_TABLE_ROWS`` rows that the plan of ``query`` reads with a Seq Scan."""
    plan = conn.execute(f"explain (format json) {query}").fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found = []
    for node in _plan_nodes(plan[0]["Plan"]):
        if node.get("Node Type") != "Seq Scan":
            continue
        schema, table = node.get("Schema", "public"), node["Relation Name"]
        rows = conn.execute("select reltuples::bigint from pg_class where oid = to_regclass(%s)",
                            (f'"{schema}"."{table}"',)).fetchone()
        if rows and rows[0] > BIG_TABLE_ROWS:
            found.append(f"{schema}.{table} ({rows[0]:,})")
    return sorted(set(found))


def time_query(conn: psycopg.Connection, name: str, query: str, runs: int = RUNS,
               warmups: int = WARMUPS) -> QueryTiming:
    """Time one query (see the module docstring); a failing query is reported, not raised."""
    try:
        for _ in range(warmups):
            conn.execute(query).fetchall()
        samples, rows = [], 0
        for _ in range(runs):
            t0 = time.perf_counter()
            rows = len(conn.execute(query).fetchall())
            samples.append((time.perf_counter() - t0) * 1000)
        samples.sort()
        p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
        return QueryTiming(name, statistics.median(samples), p95, rows, big_seq_scans(conn, query))
    except psycopg.Error as exc:
        return QueryTiming(name, error=str(exc).splitlines()[0])


def run_queries(dsn: str, runs: int = RUNS, warmups: int = WARMUPS) -> list[QueryTiming]:
    """Every query of :func:`all_queries` against ``dsn`` (autocommit, one connection)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("analyze")
        return [time_query(conn, name, query, runs, warmups) for name, query in all_queries().items()]
