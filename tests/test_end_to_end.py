"""End to end: demo files → every Dagster asset in-process → marts equal an independent pandas computation."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pandas as pd
import psycopg
import pytest

from orchestration.assets.dashboards import DASHBOARDS_KEY
from orchestration.assets.reports import executive_report
from orchestration.definitions import build_defs
from orchestration.materialize import full_refresh_ops, selection_without
from orchestration.demo import DemoConfig, generate
from orchestration.assets.klaviyo import KlaviyoResource
from orchestration.resources import WarehouseResource

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG = DemoConfig(seed=11, customers=1_500, campaigns=24, days=120)
# No KLAVIYO_API_KEY in tests: the Klaviyo assets sync, from the local server, an account whose
# 300 profiles are a fifth of the demo files' customers, their orders the files' orders.
KLAVIYO_DEMO = KlaviyoResource(demo_profile_share=0.2)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("landing")
    generate(out, CONFIG)
    return out


@pytest.fixture(scope="module")
def built(module_db: str, landing: Path) -> tuple[str, dg.ExecuteInProcessResult]:
    """A database with every asset materialized once from the demo landing files."""
    return module_db, _run_everything(module_db, landing)


# The Evidence site is left out: tests/test_dashboards.py builds it (npm ci + evidence build,
# a minute or more) and checks every page in Chromium; building it here again adds nothing.
NOT_RUN = [DASHBOARDS_KEY]


def _run_everything(dsn: str, landing: Path, full_refresh: bool = False) -> dg.ExecuteInProcessResult:
    defs = build_defs(WarehouseResource(dsn=dsn, landing_dir=str(landing)), KLAVIYO_DEMO)
    job = defs.resolve_implicit_global_asset_job_def()
    # the report goes beside the landing folder, never into the checkout's .warehouse/artifacts
    ops = {executive_report.op.name: {"config": {"output_dir": str(landing.parent / "reports")}}}
    if full_refresh:
        ops.update(full_refresh_ops())
    return job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False, asset_selection=selection_without(defs, NOT_RUN),
        run_config={"ops": ops},
    )


def _expected_campaigns(landing: Path, klaviyo_days: dict[str, tuple] | None = None) -> pd.DataFrame:
    """Per campaign_id spend/revenue/ROI from the CSV itself, the planted bad lines dropped.

    ``klaviyo_days`` {channel: (first, last)}: on those days Klaviyo reports the channel's
    outcomes, so CSV rows there keep their spend but count no clicks or revenue."""
    planted = pd.read_csv(landing / "_ground_truth" / "planted_rows.csv")
    bad_lines = set(planted.loc[planted["source"] == "campaign_performance", "line_number"])
    csv_path = landing / "campaign_performance" / "campaign_performance.csv"
    lines = csv_path.read_text().splitlines()
    good = [line for number, line in enumerate(lines[1:], start=2) if number not in bad_lines]
    frame = pd.read_csv(pd.io.common.StringIO("\n".join([lines[0], *good])), dtype={"campaign_id": str})
    taxonomy = pd.read_csv(REPO_ROOT / "seeds" / "channel_taxonomy.csv")
    frame["channel_mapped"] = frame["channel"].str.strip().str.lower().map(
        dict(zip(taxonomy["source_channel"], taxonomy["channel"], strict=True))
    )
    day = pd.to_datetime(frame["date"]).dt.date
    for channel, (first, last) in (klaviyo_days or {}).items():
        covered = (frame["channel_mapped"] == channel) & (day >= first) & (day <= last)
        frame.loc[covered, ["revenue", "clicks"]] = 0
    per_campaign = frame.groupby("campaign_id").agg(
        spend=("cost", "sum"), revenue=("revenue", "sum"), clicks=("clicks", "sum"),
        channel=("channel_mapped", "first"),
    )
    spend = per_campaign["spend"]
    per_campaign["roi"] = ((per_campaign["revenue"] - spend) / spend).where(spend != 0)
    per_campaign.attrs["frame"] = frame
    return per_campaign


def test_every_asset_builds_and_marts_match_pandas(built, landing: Path) -> None:
    fresh_db, result = built
    failures = [e.step_key for e in result.all_events if e.is_step_failure]
    assert result.success, f"failed steps: {failures}"

    defs = build_defs(WarehouseResource(dsn=fresh_db, landing_dir=str(landing)))
    # landing files and the Klaviyo raw tables (written by the Klaviyo loader, not by this
    # demo run; `python -m orchestration.klaviyo init` creates them empty) are external to the run
    external = {"landing", "klaviyo_raw"}
    expected_keys = {
        spec.key for spec in defs.resolve_all_asset_specs() if spec.key.path[0] not in external
    } - set(NOT_RUN)
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert expected_keys <= materialized, f"not materialized: {expected_keys - materialized}"
    for key in ("raw", "staging", "marts"):
        assert any(k.path[0] == key for k in materialized), key
    check_evals = result.get_asset_check_evaluations()
    assert check_evals, "dbt tests should surface as asset checks"
    dbt_checks = [c for c in check_evals if c.asset_key.path[0] != "ml"]
    failed = [c.check_name for c in dbt_checks if not c.passed and c.severity == dg.AssetCheckSeverity.ERROR]
    assert not failed, failed
    # The forecast check ran; whether Prophet beats the baseline on every series is data-dependent.
    assert any(c.check_name == "forecasts_beat_seasonal_naive" for c in check_evals)

    planted = json.loads((landing / "_ground_truth" / "planted_rejections.json").read_text())
    manifest = json.loads((landing / "_ground_truth" / "manifest.json").read_text())
    with psycopg.connect(fresh_db) as conn:
        # Every planted bad row, and only those, is quarantined with its reason.
        for source, reasons in planted.items():
            got = dict(
                conn.execute(
                    f"select split_part(reason, ':', 1), count(*) from raw.{source}_rejected group by 1"
                ).fetchall()
            )
            assert got == reasons, source
            read, loaded, rejected = conn.execute(
                "select sum(rows_read), sum(rows_loaded), sum(rows_rejected) from raw.load_registry "
                "where source like %s and status = 'loaded'",
                (f"{source}%",),
            ).fetchone()
            assert loaded + rejected == read
            assert rejected == sum(reasons.values())
        for path, info in manifest["files"].items():
            table = info["source"]
            count = conn.execute(f"select count(*) from raw.{table}").fetchone()[0]
            assert count == info["valid_rows"], path

        mart = pd.DataFrame(
            conn.execute(
                "select campaign_id, channel, spend, revenue, clicks, roi from marts.fct_campaign_performance"
                " where source = 'ads'"
            ).fetchall(),
            columns=["campaign_id", "channel", "spend", "revenue", "clicks", "roi"],
        ).set_index("campaign_id")
        klaviyo_days = {
            channel: (first, last)
            for channel, first, last in conn.execute(
                "select channel, min(date_day), max(date_day) from marts.fct_campaign_daily "
                "where source = 'klaviyo' and channel in ('email', 'sms') group by channel"
            ).fetchall()
        }
        # Klaviyo-sourced email/SMS rows carry no spend, so monthly spend per channel is the CSV's.
        channel_month = pd.DataFrame(
            conn.execute(
                "select channel, period_start, spend, share_of_spend from marts.fct_channel_performance "
                "where grain = 'month' and (spend <> 0 or sources like '%%ads%%')"
            ).fetchall(),
            columns=["channel", "period_start", "spend", "share_of_spend"],
        )

    # Where Klaviyo covers email/SMS, its outcomes replace the CSV's ESP-reported ones (dbt var
    # klaviyo__replaces_channels): covered CSV rows keep their spend, report no clicks/revenue.
    expected = _expected_campaigns(landing, klaviyo_days)
    assert sorted(mart.index) == sorted(expected.index)
    replaced = expected["channel"].isin(list(klaviyo_days))
    for campaign_id, row in expected.iterrows():
        got = mart.loc[campaign_id]
        assert got["channel"] == row["channel"]
        assert float(got["spend"]) == pytest.approx(row["spend"], abs=0.005)
        assert float(got["revenue"]) == pytest.approx(row["revenue"], abs=0.005), campaign_id
        assert int(got["clicks"]) == row["clicks"]
        if pd.isna(row["roi"]):
            assert got["roi"] is None
        else:
            assert float(got["roi"]) == pytest.approx(row["roi"], rel=1e-5, abs=1e-6)
    assert expected["roi"].isna().any(), "demo data should include zero-spend campaigns"
    assert (~replaced).sum() >= 10 and replaced.any()

    frame = expected.attrs["frame"]
    frame["month"] = pd.to_datetime(frame["date"]).dt.to_period("M").dt.to_timestamp().dt.date
    by_month = frame.groupby(["channel_mapped", "month"])["cost"].sum()
    got_month = channel_month.set_index(["channel", "period_start"])["spend"].astype(float)
    assert len(got_month) == len(by_month)
    for key, value in by_month.items():
        assert got_month.loc[key] == pytest.approx(value, abs=0.005)
    shares = channel_month.groupby("period_start")["share_of_spend"].apply(
        lambda s: float(sum((v or Decimal(0)) for v in s))
    )
    assert all(abs(s - 1) < 1e-4 or s == 0 for s in shares)


def test_ml_tables_recover_planted_segments_and_forecast_every_series(built, landing: Path) -> None:
    from sklearn.metrics import adjusted_rand_score

    dsn, result = built
    assert result.success
    truth = pd.read_csv(landing / "_ground_truth" / "customer_segments.csv")
    with psycopg.connect(dsn) as conn:
        latest = dict(conn.execute(
            "select distinct on (model_name) model_name, model_version from ml.model_runs "
            "order by model_name, trained_at desc"
        ).fetchall())
        segments = pd.DataFrame(conn.execute(
            "select customer_id, segment_id from ml.customer_segments where model_version = %s",
            (latest["customer_segmentation"],),
        ).fetchall(), columns=["customer_id", "segment_id"])
        rfm_customers = conn.execute("select count(*) from marts.fct_customer_rfm").fetchone()[0]
        forecast = conn.execute(
            "select count(distinct series), min(ds), max(ds) from ml.forecasts where model_version = %s",
            (latest["prophet_forecasts"],),
        ).fetchone()
        last_actual = conn.execute("select max(date_day) from marts.fct_campaign_daily").fetchone()[0]
    assert len(segments) == rfm_customers
    merged = segments.merge(truth, on="customer_id")
    assert len(merged) == len(segments)
    assert adjusted_rand_score(merged["segment"], merged["segment_id"]) >= 0.9
    series, first_day, last_day = forecast
    assert series >= 4  # revenue, conversions, spend, new customers (totals) at least
    assert (last_day - last_actual).days == 90

    # the marts fed back from the ML tables read the newest versions
    with psycopg.connect(dsn) as conn:
        segment_mart = conn.execute(
            "select sum(customers), sum(revenue), min(model_version), max(model_version) from marts.fct_segment_revenue"
        ).fetchone()
        segmented_revenue = conn.execute(
            "select sum(c.net_revenue) from ml.customer_segments s join marts.dim_customers c using (customer_id)"
            " where s.model_version = %s", (latest["customer_segmentation"],),
        ).fetchone()[0]
        forecast_rows, negative = conn.execute(
            "select count(*), count(*) filter (where yhat_lower < 0) from ml.forecasts where model_version = %s",
            (latest["prophet_forecasts"],),
        ).fetchone()
        mart_forecast_rows, versions = conn.execute(
            "select count(*) filter (where is_forecast), count(distinct model_version) from marts.fct_forecast_vs_actual"
        ).fetchone()
        plan_months = conn.execute(
            "select count(*) from marts.fct_planning_forecast where channel = 'total' and model_version = %s",
            (latest["prophet_forecasts"],),
        ).fetchone()[0]
    assert segment_mart == (len(segments), segmented_revenue, latest["customer_segmentation"],
                            latest["customer_segmentation"])
    assert negative == 0, "money and counts are never forecast below 0"
    assert mart_forecast_rows == forecast_rows and versions == 1
    assert plan_months >= 3  # 90 days span 3-4 calendar months


def test_rerun_is_idempotent(built, landing: Path) -> None:
    fresh_db, first = built
    assert first.success
    counts_sql = (
        "select (select count(*) from raw.campaign_performance), (select count(*) from raw.orders),"
        " (select count(*) from raw.customers_rejected), (select sum(spend) from marts.fct_campaign_performance),"
        " (select count(*) from klaviyo_raw.events), (select count(*) from klaviyo_raw.profiles),"
        " (select sum(attributed_revenue) from marts.fct_email_campaign_performance),"
        " (select count(*) from ml.customer_segments), (select count(*) from ml.segment_profiles),"
        " (select count(*) from ml.forecasts)"
    )
    table_oids = (
        "select 'staging.stg_klaviyo__events'::regclass::oid, 'intermediate.int_order_lines_classified'::regclass::oid"
    )
    with psycopg.connect(fresh_db) as conn:
        before = conn.execute(counts_sql).fetchone()
        oids_before = conn.execute(table_oids).fetchone()
        registry_before = conn.execute("select count(*) from raw.load_registry").fetchone()[0]
    assert before[4] > 0 and before[5] > 0, "the demo Klaviyo account should have been synced"
    with psycopg.connect(fresh_db) as conn:
        # The campaign report covers the demo period, so the reconciliation test had work to do.
        assert conn.execute("select count(*) from klaviyo_raw.campaign_values_reports").fetchone()[0] > 0
    # the second run also rebuilds dbt's incremental tables from scratch (warehouse run
    # --full-refresh): same result
    second = _run_everything(fresh_db, landing, full_refresh=True)
    assert second.success
    with psycopg.connect(fresh_db) as conn:
        oids_after = conn.execute(table_oids).fetchone()
    assert all(a != b for a, b in zip(oids_after, oids_before)), "full refresh recreates the incremental tables"
    events = next(
        m for m in second.get_asset_materialization_events() if m.asset_key == dg.AssetKey(["klaviyo_raw", "events"])
    ).materialization.metadata
    assert events["cursor_before"].value != "none (first sync)"  # the second sync is incremental
    with psycopg.connect(fresh_db) as conn:
        after = conn.execute(counts_sql).fetchone()
        statuses = dict(conn.execute("select status, count(*) from raw.load_registry group by 1").fetchall())
    assert after == before
    assert statuses.get("loaded") == registry_before, statuses


def test_bad_dsn_fails_with_one_sentence(landing: Path) -> None:
    result = _run_everything("postgresql://nobody:wrong@127.0.0.1:1/analytics", landing)
    assert not result.success
    from orchestration.materialize import _first_failure

    message = _first_failure(result)
    assert "Cannot reach Postgres at 127.0.0.1:1/analytics" in message and "make db-start" in message, message
    assert "Traceback" not in message and "\n" not in message


def test_summary_names_sources_and_campaigns(built) -> None:
    from orchestration import summary

    fresh_db, result = built
    assert result.success
    text = summary.render(fresh_db)
    for source in ("campaign_performance", "customers", "orders"):
        assert source in text
    with psycopg.connect(fresh_db) as conn:
        best = conn.execute(
            "select campaign_name from marts.fct_campaign_performance where roi is not null "
            "order by roi desc, campaign_name limit 1"
        ).fetchone()[0]
    top_block = text.split("Top 5 campaigns by ROI:")[1].split("Bottom 5")[0]
    assert best in top_block.splitlines()[1]


def test_cli_reports_unreachable_database_in_one_line() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "WAREHOUSE_DSN": "postgresql://nobody:x@127.0.0.1:1/analytics"}
    res = subprocess.run(
        [str(Path(sys.executable).with_name("warehouse")), "summary"], capture_output=True, text=True, env=env
    )
    assert res.returncode == 1
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr, res.stderr
    assert "Cannot reach Postgres at 127.0.0.1:1/analytics" in res.stderr


def test_refused_file_is_reported_in_one_sentence_and_the_rest_still_builds(
    fresh_db: str, landing: Path, tmp_path: Path
) -> None:
    import shutil

    from orchestration import summary

    copy = tmp_path / "landing"
    shutil.copytree(landing, copy)
    bad = copy / "campaign_performance" / "export_from_new_tool.csv"
    bad.write_text("Day,Campaign,Spend\n2024-01-01,x,1\n")
    result = _run_everything(fresh_db, copy)
    assert result.success
    text = summary.render(fresh_db)
    block = text.split("Files NOT loaded (fix and rerun):")[1].strip().splitlines()[0]
    assert block.startswith("campaign_performance/export_from_new_tool.csv:")
    assert "campaign_performance.yml" in block and "channel" in block, block
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("select count(*) from marts.fct_campaign_performance").fetchone()[0] > 0
