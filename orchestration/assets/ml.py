"""ML assets: read the marts, call the pure models in ``ml/``, write ``ml.*`` tables.

Every run appends rows tagged with its ``model_version`` and one ``ml.model_runs`` row per
model; older versions stay, and readers take the newest version from ``ml.model_runs``.
"""

import base64
import io
import json
import os

import dagster as dg
import pandas as pd

from orchestration import errors
from orchestration.frames import append_frame, read_frame
from orchestration.resources import WarehouseResource

ML_SCHEMA = "ml"
FORECAST_HORIZON = int(os.environ.get("WAREHOUSE_FORECAST_HORIZON", "90"))
BACKTEST_HORIZON = 28
BACKTEST_FOLDS = 3

MODEL_RUNS = {
    "model_name": "text not null",
    "model_version": "text not null",
    "params": "jsonb not null",
    "training_start": "date",
    "training_end": "date",
    "row_count": "bigint not null",
    "metrics": "jsonb not null",
    "trained_at": "timestamptz not null",
    "code_version": "text",
}
SEGMENTS = {
    "customer_id": "text not null",
    "segment_id": "integer not null",
    "segment_label": "text not null",
    "distance_to_centre": "double precision",
    "model_version": "text not null",
}
PROFILES = {
    "model_version": "text not null",
    "segment_id": "integer not null",
    "segment_label": "text not null",
    "size": "bigint not null",
    "share": "double precision not null",
    "revenue": "double precision",
    "revenue_share": "double precision",
    "feature_means": "jsonb not null",
}
FORECASTS = {
    "model_version": "text not null",
    "series": "text not null",
    "ds": "date not null",
    "yhat": "double precision not null",
    "yhat_lower": "double precision",
    "yhat_upper": "double precision",
}
COMPONENTS = {
    "model_version": "text not null",
    "series": "text not null",
    "ds": "date not null",
    "trend": "double precision",
    "weekly": "double precision",
    "yearly": "double precision",
}
BACKTEST = {
    "model_version": "text not null",
    "series": "text not null",
    "model": "text not null",
    "folds": "integer not null",
    "mape": "double precision",
    "smape": "double precision",
    "mase": "double precision",
    "baseline_mase": "double precision",
    "worse_than_baseline": "boolean not null",
}

CUSTOMER_FEATURES_SQL = """
    select
        rfm.customer_id,
        rfm.recency_days,
        rfm.frequency,
        rfm.monetary,
        customers.sessions,
        customers.pages_per_session,
        customers.avg_session_duration,
        customers.age
    from marts.fct_customer_rfm as rfm
    inner join marts.dim_customers as customers
        on rfm.customer_id = customers.customer_id
"""
BEHAVIOUR = ("sessions", "pages_per_session", "avg_session_duration", "age")
RFM = ("recency_days", "frequency", "monetary")


def _md_table(frame: pd.DataFrame, float_format: str = "{:,.3f}") -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = [
        "| " + " | ".join(float_format.format(v) if isinstance(v, float) else str(v) for v in row) + " |"
        for row in frame.itertuples(index=False, name=None)
    ]
    return "\n".join([header, rule, *rows])


def _append_run(conn, record: dict) -> None:
    append_frame(conn, ML_SCHEMA, "model_runs", pd.DataFrame([record]), MODEL_RUNS)


@dg.asset(
    key=dg.AssetKey([ML_SCHEMA, "customer_segments"]),
    deps=[dg.AssetKey(["marts", "fct_customer_rfm"]), dg.AssetKey(["marts", "dim_customers"])],
    group_name="ml",
    kinds={"python", "scikitlearn", "postgres"},
    owners=["team:data-science"],
    description=(
        "Customer segments: k-means on log/robust-scaled recency, frequency, monetary and, where "
        "the CRM file provides them, sessions, pages per session, session duration and age; k "
        "chosen by silhouette. Writes ml.customer_segments, ml.segment_profiles, ml.model_runs."
    ),
)
def customer_segments(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from ml.registry import model_run_record
    from ml.segmentation import segment_customers

    with errors.connect(warehouse.get_dsn()) as conn:
        frame = read_frame(conn, CUSTOMER_FEATURES_SQL)
        if frame.empty:
            raise errors.UserFacingError(
                "marts.fct_customer_rfm has no customers to segment; load order files first."
            )
        for column in (*RFM, *BEHAVIOUR):
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
        behaviour = [c for c in BEHAVIOUR if frame[c].notna().mean() >= 0.5]
        result = segment_customers(frame, features=(*RFM, *behaviour))

        profiles = result.profiles.copy()
        mean_columns = [c for c in profiles.columns if c.endswith("_mean")]
        profiles["feature_means"] = [
            json.dumps({c.removesuffix("_mean"): float(row[c]) for c in mean_columns}) for _, row in profiles.iterrows()
        ]
        profiles["model_version"] = result.model_version
        version = result.model_version
        append_frame(conn, ML_SCHEMA, "customer_segments", result.assignments, SEGMENTS, replace_version=version)
        append_frame(conn, ML_SCHEMA, "segment_profiles", profiles, PROFILES, replace_version=version)
        _append_run(conn, model_run_record(
            "customer_segmentation", result.model_version, result.params, None, None, len(frame), result.metrics,
        ))
    sizes = profiles[["segment_id", "segment_label", "size", "share", "revenue_share"]]
    return dg.MaterializeResult(
        metadata={
            "model_version": result.model_version,
            "k": int(result.metrics.get("k", len(profiles))),
            "silhouette": float(result.metrics.get("silhouette") or 0.0),
            "features": ", ".join((*RFM, *behaviour)),
            "segments": dg.MetadataValue.md(_md_table(sizes)),
            "dagster/row_count": len(result.assignments),
        }
    )


FORECAST_SERIES_SQL = """
    select date_day as ds, channel, spend, conversions, revenue
    from marts.fct_campaign_daily
"""
NEW_CUSTOMERS_SQL = """
    select first_order_date as ds, coalesce(acquisition_channel, 'unknown') as channel
    from marts.dim_customers
    where first_order_date is not null
"""


def _series_frame(conn) -> pd.DataFrame:
    """Long frame (series, ds, y): revenue, conversions, spend and new customers, per channel and total."""
    daily = read_frame(conn, FORECAST_SERIES_SQL)
    parts = []
    if not daily.empty:
        daily["ds"] = pd.to_datetime(daily["ds"])
        for metric in ("revenue", "conversions", "spend"):
            values = daily.assign(y=pd.to_numeric(daily[metric], errors="coerce"))
            total = values.groupby("ds", as_index=False)["y"].sum().assign(series=f"{metric}|total")
            per = values.groupby(["channel", "ds"], as_index=False)["y"].sum()
            per["series"] = metric + "|" + per["channel"]
            parts += [total, per.drop(columns="channel")]
    new = read_frame(conn, NEW_CUSTOMERS_SQL)
    if not new.empty:
        new["ds"] = pd.to_datetime(new["ds"])
        total = new.groupby("ds").size().rename("y").reset_index().assign(series="new_customers|total")
        per = new.groupby(["channel", "ds"]).size().rename("y").reset_index()
        per["series"] = "new_customers|" + per["channel"]
        parts += [total, per.drop(columns="channel")]
    if not parts:
        return pd.DataFrame(columns=["series", "ds", "y"])
    return pd.concat(parts, ignore_index=True)[["series", "ds", "y"]]


def _plot(history: pd.DataFrame, forecast: pd.DataFrame, series: str) -> str:
    """A small PNG (markdown image, base64) of history + forecast with its interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.4), dpi=80)
    h = history[history["series"] == series]
    f = forecast[forecast["series"] == series]
    ax.plot(h["ds"], h["y"], lw=0.8, color="#555", label="actual")
    ax.plot(f["ds"], f["yhat"], lw=1.0, color="#1f77b4", label="forecast")
    ax.fill_between(f["ds"], f["yhat_lower"], f["yhat_upper"], color="#1f77b4", alpha=0.2)
    ax.set_title(series, fontsize=9)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return f"![{series}](data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()})"


@dg.asset(
    key=dg.AssetKey([ML_SCHEMA, "forecasts"]),
    deps=[dg.AssetKey(["marts", "fct_campaign_daily"]), dg.AssetKey(["marts", "dim_customers"])],
    group_name="ml",
    kinds={"python", "prophet", "postgres"},
    owners=["team:data-science"],
    description=(
        "Daily revenue, conversions, spend and new customers per channel and in total, forecast "
        f"{FORECAST_HORIZON} days ahead with Prophet (weekly + yearly seasonality, 80% intervals); a "
        f"rolling-origin backtest ({BACKTEST_FOLDS} folds × {BACKTEST_HORIZON} days) against a "
        "seasonal-naive baseline. Writes ml.forecasts, ml.forecast_components, ml.forecast_backtest, "
        "ml.model_runs."
    ),
)
def forecasts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from ml.backtest import rolling_origin_backtest
    from ml.forecasting import forecast_many
    from ml.registry import model_run_record, model_version

    with errors.connect(warehouse.get_dsn()) as conn:
        history = _series_frame(conn)
        if history.empty:
            raise errors.UserFacingError("The marts hold no daily series to forecast; load campaign files first.")
        result = forecast_many(history, horizon=FORECAST_HORIZON)
        backtest = rolling_origin_backtest(history, horizon=BACKTEST_HORIZON, folds=BACKTEST_FOLDS)
        version = model_version(result.params, str(pd.util.hash_pandas_object(history).sum()), "fc")
        forecast = result.forecast.assign(model_version=version)
        forecast["ds"] = pd.to_datetime(forecast["ds"]).dt.date
        components = result.components.assign(model_version=version)
        components["ds"] = pd.to_datetime(components["ds"]).dt.date
        summary = backtest.summary.assign(model_version=version)
        append_frame(conn, ML_SCHEMA, "forecasts", forecast, FORECASTS, replace_version=version)
        append_frame(conn, ML_SCHEMA, "forecast_components", components, COMPONENTS, replace_version=version)
        append_frame(conn, ML_SCHEMA, "forecast_backtest", summary, BACKTEST, replace_version=version)
        prophet_rows = summary[summary["model"] != "seasonal_naive"]
        _append_run(conn, model_run_record(
            "prophet_forecasts", version, result.params,
            history["ds"].min().date(), history["ds"].max().date(), len(history),
            {
                "series": int(history["series"].nunique()),
                "mean_mape": float(prophet_rows["mape"].mean()),
                "mean_mase": float(prophet_rows["mase"].mean()),
                "series_worse_than_baseline": sorted(prophet_rows.loc[prophet_rows["worse_than_baseline"], "series"]),
            },
        ))
    totals = sorted(s for s in forecast["series"].unique() if s.endswith("|total"))
    plots = "\n\n".join(_plot(history, result.forecast, s) for s in totals)
    return dg.MaterializeResult(
        metadata={
            "model_version": version,
            "series": int(forecast["series"].nunique()),
            "horizon_days": FORECAST_HORIZON,
            "skipped": dg.MetadataValue.json(result.skipped),
            "backtest": dg.MetadataValue.md(_md_table(backtest.summary.drop(columns=["folds"]))),
            "plots": dg.MetadataValue.md(plots),
        }
    )


@dg.asset_check(
    asset=forecasts,
    description="Fails when Prophet's backtest MASE is worse than the seasonal-naive baseline's for a series.",
)
def forecasts_beat_seasonal_naive(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with errors.connect(warehouse.get_dsn()) as conn:
        worse = conn.execute(
            """
            select series, mase, baseline_mase
            from ml.forecast_backtest
            where model_version = (
                select model_version from ml.model_runs
                where model_name = 'prophet_forecasts' order by trained_at desc limit 1
            )
              and model <> 'seasonal_naive' and worse_than_baseline
            order by series
            """
        ).fetchall()
    return dg.AssetCheckResult(
        passed=not worse,
        metadata={"series_worse_than_baseline": dg.MetadataValue.json(
            [{"series": s, "mase": m, "baseline_mase": b} for s, m, b in worse]
        )},
        description=(
            "Prophet beats the seasonal-naive baseline on every series." if not worse
            else f"Prophet is worse than seasonal naive on {len(worse)} series: {', '.join(s for s, _, _ in worse)}."
        ),
    )


ml_assets = [customer_segments, forecasts]
ml_checks = [forecasts_beat_seasonal_naive]
