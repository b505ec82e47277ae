"""The dbt models fed by the ML tables (``source:ml+``): newest model version only, joined right.

The raw fixture is built up to the marts the ML assets read; then ``ml.*`` gets two model
versions of every output, written with the same code and column contracts the ML assets use
(``orchestration.frames.append_frame`` and the column maps of ``orchestration.assets.ml``),
the older one trained first. ``dbt build --select source:ml+`` must expose only the newer
version, and the marts must equal values computed here from the marts they join.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from orchestration import settings
from orchestration.assets import ml as ml_assets
from orchestration.frames import append_frame
from orchestration.klaviyo.store import ensure_schema as ensure_klaviyo_schema
from orchestration.project import ML_FED
from tests.dbt_cli import dbt_test_env, run_dbt

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_SQL = REPO_ROOT / "tests" / "fixtures" / "raw_minimal.sql"
OLD, NEW = "seg-old", "seg-new"
FC_OLD, FC_NEW = "fc-old", "fc-new"
HORIZON = 10


def _run(conn: psycopg.Connection, name: str, version: str, trained_at: datetime) -> None:
    record = {"model_name": name, "model_version": version, "params": "{}", "training_start": None,
              "training_end": None, "row_count": 0, "metrics": "{}", "trained_at": trained_at,
              "code_version": None}
    append_frame(conn, "ml", "model_runs", pd.DataFrame([record]), ml_assets.MODEL_RUNS)


def _write_ml_outputs(dsn: str) -> dict[str, object]:
    """Two versions of every ML output; returns what the newer one holds."""
    with psycopg.connect(dsn) as conn:
        customers = [r[0] for r in conn.execute("select customer_id from marts.dim_customers order by 1")]
        series = conn.execute(
            "select series, max(date_day) from marts.fct_metric_daily "
            "where series in ('revenue|total', 'spend|total') group by series order by series"
        ).fetchall()
        assert customers and len(series) == 2, "the raw fixture should give customers and daily totals"
        last_day = max(day for _, day in series)
        early, late = datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 2, 1, tzinfo=timezone.utc)
        # the newer version is registered first in the table, so only trained_at can tell them apart
        _run(conn, "customer_segmentation", NEW, late)
        _run(conn, "customer_segmentation", OLD, early)
        _run(conn, "prophet_forecasts", FC_NEW, late)
        _run(conn, "prophet_forecasts", FC_OLD, early)

        for version, n_segments in ((OLD, 1), (NEW, 2)):
            assignments = pd.DataFrame({
                "customer_id": customers,
                "segment_id": [i % n_segments for i in range(len(customers))],
                "segment_label": [f"{version} segment {i % n_segments}" for i in range(len(customers))],
                "distance_to_centre": 1.0,
                "model_version": version,
            })
            append_frame(conn, "ml", "customer_segments", assignments, ml_assets.SEGMENTS)

        for version, scale in ((FC_OLD, 1000.0), (FC_NEW, 1.0)):
            days = [last_day + timedelta(days=i) for i in range(1, HORIZON + 1)]
            forecast = pd.DataFrame([
                {"model_version": version, "series": name, "ds": day, "yhat": scale * (i + 1),
                 "yhat_lower": scale * i, "yhat_upper": scale * (i + 2)}
                for name, _ in series for i, day in enumerate(days)
            ])
            append_frame(conn, "ml", "forecasts", forecast, ml_assets.FORECASTS)
            backtest = pd.DataFrame([
                {"model_version": version, "series": name, "model": model, "folds": 3, "mape": 0.1,
                 "smape": 0.1, "mase": mase, "baseline_mase": 1.0, "worse_than_baseline": mase > 1.0}
                for name, _ in series for model, mase in (("prophet", 0.8 * scale), ("seasonal_naive", 1.0))
            ])
            append_frame(conn, "ml", "forecast_backtest", backtest, ml_assets.BACKTEST)
            planning = pd.DataFrame([{"model_version": version, "month": date(2030, 1, 1), "channel": "total",
                                      "revenue": 300.0 * scale, "spend": 100.0, "roas": 3.0 * scale,
                                      "roi": 3.0 * scale - 1, "new_customers": 4.0, "cac": 25.0}])
            append_frame(conn, "ml", "planning_forecast", planning, ml_assets.PLANNING)
        conn.commit()
    return {"customers": customers, "series": dict(series)}


@pytest.fixture(scope="module")
def built(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, object]]:
    work = tmp_path_factory.mktemp("dbt_ml")
    with psycopg.connect(module_db, autocommit=True) as conn:
        conn.execute(FIXTURE_SQL.read_text())
        ensure_klaviyo_schema(conn)  # no Klaviyo sync here: its tables, empty
    env = dbt_test_env(settings.dbt_env(module_db))
    upstream = run_dbt(["build", "--select", "+fct_metric_daily", "+dim_customers",
                        "--resource-type", "seed", "--resource-type", "model"], env, work, timeout=300)
    assert upstream.returncode == 0, upstream.stdout[-4000:]
    written = _write_ml_outputs(module_db)
    build = run_dbt(["build", "--select", ML_FED], env, work, timeout=300)
    assert build.returncode == 0, build.stdout[-5000:]
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    written["tests"] = [r["unique_id"] for r in results if r["unique_id"].startswith("test.")]
    return module_db, written


def test_staging_keeps_the_newest_version_by_trained_at(built) -> None:
    dsn, written = built
    with psycopg.connect(dsn) as conn:
        for relation, expected in (
            ("staging.stg_ml__customer_segments", NEW), ("staging.stg_ml__forecasts", FC_NEW),
            ("staging.stg_ml__forecast_backtest", FC_NEW), ("staging.stg_ml__planning_forecast", FC_NEW),
        ):
            versions = [r[0] for r in conn.execute(f"select distinct model_version from {relation}")]
            assert versions == [expected], relation
    assert written["tests"], "the ML-fed models should carry data tests"


def test_segment_revenue_equals_dim_customers_per_segment(built) -> None:
    dsn, written = built
    with psycopg.connect(dsn) as conn:
        customers = pd.DataFrame(
            conn.execute("select customer_id, order_count, net_revenue, days_since_last_order "
                         "from marts.dim_customers").fetchall(),
            columns=["customer_id", "orders", "revenue", "recency"],
        )
        mart = conn.execute(
            "select segment_id, segment_label, customers, orders, revenue, customer_share, revenue_share, "
            "avg_recency_days, model_version from marts.fct_segment_revenue order by segment_id"
        ).fetchall()
    ids = written["customers"]
    customers["segment_id"] = customers["customer_id"].map({c: i % 2 for i, c in enumerate(ids)})
    expected = customers.groupby("segment_id").agg(
        customers=("customer_id", "size"), orders=("orders", "sum"), revenue=("revenue", "sum"),
        recency=("recency", "mean"),
    )
    assert [row[0] for row in mart] == list(expected.index)
    total_revenue = expected["revenue"].sum()
    for segment_id, label, n, orders, revenue, customer_share, revenue_share, recency, version in mart:
        row = expected.loc[segment_id]
        assert (n, orders, revenue) == (row["customers"], row["orders"], row["revenue"])
        assert label == f"{NEW} segment {segment_id}" and version == NEW
        assert float(customer_share) == pytest.approx(n / len(ids), abs=1e-6)
        assert float(revenue_share) == pytest.approx(float(revenue / total_revenue), abs=1e-6)
        assert float(recency) == pytest.approx(float(row["recency"]), abs=1e-5)


def test_forecast_vs_actual_has_zero_filled_history_then_the_newest_forecast(built) -> None:
    dsn, written = built
    with psycopg.connect(dsn) as conn:
        daily = dict(conn.execute(
            "select date_day, metric_value from marts.fct_metric_daily where series = 'revenue|total'"
        ).fetchall())
        metric_last = conn.execute(
            "select max(date_day) from marts.fct_metric_daily where metric = 'revenue'"
        ).fetchone()[0]
        rows = conn.execute(
            "select ds, is_forecast, actual, yhat, yhat_lower, model_version from marts.fct_forecast_vs_actual "
            "where series = 'revenue|total' order by ds"
        ).fetchall()
    history = [r for r in rows if not r[1]]
    forecast = [r for r in rows if r[1]]
    first = min(daily)
    assert [r[0] for r in history] == [first + timedelta(days=i) for i in range((metric_last - first).days + 1)]
    assert all(r[2] == daily.get(r[0], Decimal(0)) for r in history), "history = the mart's values, 0 on quiet days"
    assert all(r[3] is None for r in history)
    assert [r[0] for r in forecast] == [metric_last + timedelta(days=i) for i in range(1, HORIZON + 1)]
    assert [r[3] for r in forecast] == [float(i + 1) for i in range(HORIZON)], "only the newest version's yhat"
    assert all(r[2] is None and r[5] == FC_NEW for r in forecast)


def test_accuracy_and_planning_pass_the_newest_version_through(built) -> None:
    dsn, _ = built
    with psycopg.connect(dsn) as conn:
        accuracy = conn.execute(
            "select series, model, mase, worse_than_baseline, metric, channel from marts.fct_forecast_accuracy "
            "order by series, model"
        ).fetchall()
        planning = conn.execute(
            "select forecast_month, channel, forecast_revenue, forecast_roas from marts.fct_planning_forecast"
        ).fetchall()
    assert [(s, m) for s, m, *_ in accuracy] == [
        ("revenue|total", "prophet"), ("revenue|total", "seasonal_naive"),
        ("spend|total", "prophet"), ("spend|total", "seasonal_naive"),
    ]
    assert all(row[3] is False for row in accuracy), "the newer version beats the baseline; the older did not"
    assert {(row[4], row[5]) for row in accuracy} == {("revenue", "total"), ("spend", "total")}
    assert planning == [(date(2030, 1, 1), "total", 300.0, 3.0)]
