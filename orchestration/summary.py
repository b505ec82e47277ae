"""The short report printed at the end of ``make run``."""

from __future__ import annotations

import os
from dataclasses import dataclass

import psycopg

from orchestration import errors, settings


@dataclass(frozen=True)
class SourceCounts:
    source: str
    files: int
    rows_read: int
    rows_loaded: int
    rows_rejected: int


@dataclass(frozen=True)
class CampaignRoi:
    campaign_name: str
    channel: str
    spend: float
    revenue: float
    roi: float


def source_counts(conn: psycopg.Connection) -> list[SourceCounts]:
    """Rows read/loaded/rejected per source over the current version of every file."""
    rows = conn.execute(
        """
        select source, count(*), sum(rows_read), sum(rows_loaded), sum(rows_rejected)
        from raw.load_registry
        where status = 'loaded'
        group by source
        order by source
        """
    ).fetchall()
    return [SourceCounts(r[0], r[1], int(r[2] or 0), int(r[3] or 0), int(r[4] or 0)) for r in rows]


def table_exists(conn: psycopg.Connection, table: str) -> bool:
    """True when ``table`` (``schema.name``) exists."""
    return conn.execute("select to_regclass(%s) is not null", (table,)).fetchone()[0]


def klaviyo_counts(conn: psycopg.Connection) -> list[tuple[str, int]]:
    """Rows per Klaviyo stream table (empty when Klaviyo was never synced)."""
    streams = ("profiles", "events", "campaigns", "flows", "metrics", "lists", "campaign_values_reports")
    return [
        (stream, conn.execute(f"select count(*) from klaviyo_raw.{stream}").fetchone()[0])
        for stream in streams
        if table_exists(conn, f"klaviyo_raw.{stream}")
    ]


def ml_lines(conn: psycopg.Connection) -> list[str]:
    """One line per model: its newest version and what it produced."""
    if not table_exists(conn, "ml.model_runs"):
        return []
    lines = []
    runs = conn.execute(
        "select distinct on (model_name) model_name, model_version, row_count, metrics from ml.model_runs "
        "order by model_name, trained_at desc"
    ).fetchall()
    for name, version, rows, metrics in runs:
        if name == "customer_segmentation":
            sizes = conn.execute(
                "select segment_label, size from ml.segment_profiles where model_version = %s order by segment_id",
                (version,),
            ).fetchall()
            parts = ", ".join(f"{label} {size:,}" for label, size in sizes)
            lines.append(f"  segments ({version}, {rows:,} customers, k={metrics.get('k')}): {parts}")
        elif name == "prophet_forecasts":
            worse = metrics.get("series_worse_than_baseline") or []
            lines.append(
                f"  forecasts ({version}): {metrics.get('series')} series, mean MASE {metrics.get('mean_mase', 0):.2f};"
                f" worse than seasonal naive on {len(worse)}"
            )
    return lines


def refused_files(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(path, sentence) of files whose current content was refused or failed to load."""
    return conn.execute(
        """
        select distinct on (bad.path) bad.path, bad.message
        from raw.load_registry as bad
        where bad.status in ('refused', 'failed')
          and not exists (
            select 1 from raw.load_registry as ok
            where ok.path = bad.path and ok.sha256 = bad.sha256 and ok.status = 'loaded'
          )
        order by bad.path, bad.file_id desc
        """
    ).fetchall()


def campaigns_by_roi(conn: psycopg.Connection, limit: int = 5) -> tuple[list[CampaignRoi], list[CampaignRoi]]:
    """Top and bottom ``limit`` campaigns by ROI (campaigns with spend only)."""
    # Where Klaviyo reports a channel, CSV campaigns of that channel keep only their spend
    # (their outcomes come from Klaviyo), so their ROI says nothing: leave them out.
    query = """
        select campaign_name, channel, spend, revenue, roi
        from marts.fct_campaign_performance
        where roi is not null
          and not (
            source = 'ads'
            and channel in (select distinct channel from marts.fct_campaign_daily where source = 'klaviyo')
          )
        order by roi {order}, campaign_name
        limit %s
    """
    top = conn.execute(query.format(order="desc"), (limit,)).fetchall()
    bottom = conn.execute(query.format(order="asc"), (limit,)).fetchall()
    as_rows = lambda rows: [CampaignRoi(r[0], r[1], float(r[2]), float(r[3]), float(r[4])) for r in rows]  # noqa: E731
    return as_rows(top), as_rows(bottom)


def render(dsn: str | None = None) -> str:
    """The whole summary as text."""
    dsn = dsn or settings.warehouse_dsn()
    parts = settings.dsn_parts(dsn)
    with errors.connect(dsn) as conn:
        counts = source_counts(conn)
        refused = refused_files(conn)
        top, bottom = campaigns_by_roi(conn)
        klaviyo = klaviyo_counts(conn)
        models = ml_lines(conn)
    lines = ["", "Warehouse built.", "", "Rows per source (current file versions):"]
    lines.append(f"  {'source':<24}{'files':>6}{'read':>12}{'loaded':>12}{'rejected':>10}")
    for c in counts:
        lines.append(f"  {c.source:<24}{c.files:>6}{c.rows_read:>12,}{c.rows_loaded:>12,}{c.rows_rejected:>10,}")
    lines.append("  (rejected rows, with line and reason: raw.<source>_rejected)")
    if refused:
        lines += ["", "Files NOT loaded (fix and rerun):"]
        lines += [f"  {path}: {message}" for path, message in refused]
    if klaviyo:
        lines += ["", "Klaviyo rows: " + ", ".join(f"{stream} {count:,}" for stream, count in klaviyo)]
    if models:
        lines += ["", "Models (ml schema):", *models]
    for title, rows in (("Top 5 campaigns by ROI:", top), ("Bottom 5 campaigns by ROI:", bottom)):
        lines += ["", title]
        for r in rows:
            lines.append(
                f"  {r.roi:>8.2f}  {r.campaign_name[:40]:<40} {r.channel:<16}"
                f" spend {r.spend:>12,.2f}  revenue {r.revenue:>12,.2f}"
            )
    host, port, db, user = parts.get("host"), parts.get("port"), parts.get("dbname"), parts.get("user")
    lines += [
        "",
        "Next:",
        "  Lineage and runs:  make dev   → http://127.0.0.1:3000",
        f"  SQL client:        psql \"host={host} port={port} dbname={db} user={user}\""
        + ("  (password: .warehouse/warehouse.password)" if not os.environ.get("WAREHOUSE_DSN") else ""),
        "  Marts:             marts.fct_campaign_performance, fct_channel_performance, fct_customer_cohorts,",
        "                     fct_customer_rfm, fct_email_campaign_performance, … (make docs)",
        "  Dashboards:        make dashboards-serve → http://127.0.0.1:3001  (make dashboards rebuilds them)",
        "  Executive report:  make report (HTML + PDF from the current marts)",
        "",
    ]
    return "\n".join(lines)
