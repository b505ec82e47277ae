"""ML assets: read the marts, call the pure models in ``ml/``, write ``ml.*`` tables.

Every run appends rows tagged with its ``model_version`` and one ``ml.model_runs`` row per
model; older versions stay, and readers take the newest version from ``ml.model_runs``.
"""

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
PLANNING = {
    "model_version": "text not null",
    "month": "date not null",
    "channel": "text not null",
    "revenue": "double precision",
    "spend": "double precision",
    "roas": "double precision",
    "roi": "double precision",
    "new_customers": "double precision",
    "cac": "double precision",
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


def _spec(table: str, deps: list[dg.AssetKey], kinds: set[str], description: str) -> dg.AssetSpec:
    """The spec of one ``ml.<table>`` output (one asset per table the model writes)."""
    return dg.AssetSpec(
        key=dg.AssetKey([ML_SCHEMA, table]), deps=deps, group_name="ml", kinds=kinds,
        owners=["team:data-science"], description=description,
    )


SEGMENTATION_DEPS = [dg.AssetKey(["marts", "fct_customer_rfm"]), dg.AssetKey(["marts", "dim_customers"])]
SEGMENTATION_KINDS = {"python", "scikitlearn", "postgres"}


@dg.multi_asset(
    name="customer_segmentation",
    specs=[
        _spec("customer_segments", SEGMENTATION_DEPS, SEGMENTATION_KINDS, (
            "One row per customer and model version: the customer's segment from k-means on "
            "log/robust-scaled recency, frequency, monetary and, where the CRM file provides them, "
            "sessions, pages per session, session duration and age (k chosen by silhouette), its "
            "label and distance to the centre. The run is registered in ml.model_runs."
        )),
        _spec("segment_profiles", SEGMENTATION_DEPS, SEGMENTATION_KINDS, (
            "One row per segment and model version: size, share, revenue share and feature means."
        )),
    ],
)
def customer_segmentation(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Train the segmentation on the customer marts and write its two tables and registry row."""
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
    yield dg.MaterializeResult(
        asset_key=dg.AssetKey([ML_SCHEMA, "segment_profiles"]),
        metadata={"model_version": result.model_version, "segments": dg.MetadataValue.md(_md_table(sizes)),
                  "dagster/row_count": len(profiles)},
    )
    yield dg.MaterializeResult(
        asset_key=dg.AssetKey([ML_SCHEMA, "customer_segments"]),
        metadata={
            "model_version": result.model_version,
            "k": int(result.metrics.get("k", len(profiles))),
            "silhouette": float(result.metrics.get("silhouette") or 0.0),
            "features": ", ".join((*RFM, *behaviour)),
            "segments": dg.MetadataValue.md(_md_table(sizes)),
            "dagster/row_count": len(result.assignments),
        }
    )


SERIES_SQL = """
    select series, date_day as ds, metric_value as y
    from marts.fct_metric_daily
    order by series, date_day
"""


def _series_frame(conn) -> pd.DataFrame:
    """Long frame (series, ds, y) from marts.fct_metric_daily: revenue, conversions, spend and
    new customers, per channel and total (series ``<metric>|<channel>``)."""
    frame = read_frame(conn, SERIES_SQL)
    if frame.empty:
        return pd.DataFrame(columns=["series", "ds", "y"])
    frame["ds"] = pd.to_datetime(frame["ds"])
    frame["y"] = pd.to_numeric(frame["y"], errors="coerce").astype(float)
    return _pad_to_metric_end(frame)


def _pad_to_metric_end(frame: pd.DataFrame) -> pd.DataFrame:
    """The mart has no row on a quiet day: give every series a row per day from its first day
    to its metric's last day (0 where quiet), so all series of a metric are forecast from the
    same day on, not from the channel's last active day."""
    metric = frame["series"].str.split("|", n=1).str[0]
    last_day = frame.groupby(metric)["ds"].transform("max")
    parts = []
    for name, group in frame.assign(_end=last_day).groupby("series", sort=True):
        days = pd.date_range(group["ds"].min(), group["_end"].iloc[0], freq="D")
        y = group.set_index("ds")["y"].reindex(days, fill_value=0.0)
        parts.append(pd.DataFrame({"series": name, "ds": days, "y": y.to_numpy()}))
    return pd.concat(parts, ignore_index=True)


def _planning_frame(forecast: pd.DataFrame) -> pd.DataFrame:
    """Monthly ROI and acquisition forecast per channel (and total) from the daily forecasts.

    Spend is the spend forecast (``ml.planning``: revenue ÷ spend, spend ÷ new customers, ratios
    of monthly sums). A channel needs revenue and spend forecasts; new customers are joined where
    forecast."""
    from ml.planning import acquisition_forecast, roi_forecast

    by_series = {name: frame for name, frame in forecast.groupby("series")}
    rows = []
    channels = sorted({s.split("|", 1)[1] for s in by_series if s.startswith("revenue|")})
    for channel in channels:
        revenue, spend = by_series.get(f"revenue|{channel}"), by_series.get(f"spend|{channel}")
        if revenue is None or spend is None:
            continue
        roi = roi_forecast(revenue, spend_forecast=spend, period="MS")
        new = by_series.get(f"new_customers|{channel}")
        if new is not None:
            acquisition = acquisition_forecast(new, spend_forecast=spend, period="MS")
            roi = roi.merge(acquisition[["ds", "new_customers", "cac"]], on="ds", how="left")
        else:
            roi = roi.assign(new_customers=float("nan"), cac=float("nan"))
        rows.append(roi.assign(channel=channel))
    if not rows:
        return pd.DataFrame(columns=list(PLANNING))
    out = pd.concat(rows, ignore_index=True).rename(columns={"ds": "month"})
    out["month"] = pd.to_datetime(out["month"]).dt.date
    return out


def _plot_metric(history: pd.DataFrame, forecast: pd.DataFrame, metric: str, history_days: int = 180) -> str:
    """One PNG per metric (markdown image, base64): a small panel per series with the last
    ``history_days`` of actuals, the forecast and its interval."""
    from matplotlib.figure import Figure

    from orchestration.figures import png_data_uri

    names = sorted(s for s in forecast["series"].unique() if s.startswith(metric + "|"))
    names.sort(key=lambda s: not s.endswith("|total"))  # total first
    cols = 3
    rows = (len(names) + cols - 1) // cols
    fig = Figure(figsize=(10, 1.9 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    start = history["ds"].max() - pd.Timedelta(days=history_days)
    for ax, name in zip(axes.flat, names, strict=False):
        h = history[(history["series"] == name) & (history["ds"] >= start)]
        f = forecast[forecast["series"] == name]
        ax.plot(h["ds"], h["y"], lw=0.7, color="#555")
        ax.plot(f["ds"], f["yhat"], lw=1.0, color="#1f77b4")
        ax.fill_between(f["ds"], f["yhat_lower"], f["yhat_upper"], color="#1f77b4", alpha=0.2)
        ax.set_title(name.split("|", 1)[1], fontsize=8)
        ax.tick_params(labelsize=6)
        ax.tick_params(axis="x", labelrotation=30)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle(f"{metric}: actuals (grey) and {len(forecast['ds'].unique())}-day forecast with 80% interval",
                 fontsize=9)
    fig.tight_layout()
    return f"![{metric}]({png_data_uri(fig, dpi=70)})"


FORECAST_DEPS = [dg.AssetKey(["marts", "fct_metric_daily"])]
FORECAST_KINDS = {"python", "prophet", "postgres"}


@dg.multi_asset(
    name="prophet_forecasts",
    specs=[
        _spec("forecasts", FORECAST_DEPS, FORECAST_KINDS, (
            "Daily revenue, conversions, spend and new customers per channel and in total "
            f"(marts.fct_metric_daily), forecast {FORECAST_HORIZON} days ahead with Prophet (weekly + "
            "yearly seasonality, 80% intervals), one row per series, day and model version. The run "
            "is registered in ml.model_runs."
        )),
        _spec("forecast_components", FORECAST_DEPS, FORECAST_KINDS, (
            "Prophet's additive components per series and forecast day: trend, weekly and yearly "
            "seasonality (the seasonality patterns)."
        )),
        _spec("forecast_backtest", FORECAST_DEPS, FORECAST_KINDS, (
            f"Rolling-origin backtest ({BACKTEST_FOLDS} folds × {BACKTEST_HORIZON} days) per series: "
            "MAPE, sMAPE and MASE of Prophet and of the seasonal-naive baseline."
        )),
        _spec("planning_forecast", FORECAST_DEPS, FORECAST_KINDS, (
            "Monthly ROI (forecast revenue ÷ forecast spend) and acquisition (forecast new customers, "
            "CAC = spend ÷ new customers) per channel and in total, over the forecast horizon."
        )),
    ],
)
def prophet_forecasts(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Fit, backtest and forecast every daily series; write the four tables and a registry row."""
    from ml.backtest import rolling_origin_backtest
    from ml.forecasting import ForecastConfig, forecast_many
    from ml.registry import model_run_record, model_version

    with errors.connect(warehouse.get_dsn()) as conn:
        history = _series_frame(conn)
        if history.empty:
            raise errors.UserFacingError("The marts hold no daily series to forecast; load campaign files first.")
        # every series is money or a count: forecasts and intervals are clipped at 0
        config = ForecastConfig(nonnegative=True)
        result = forecast_many(history, horizon=FORECAST_HORIZON, config=config)
        backtest = rolling_origin_backtest(history, horizon=BACKTEST_HORIZON, folds=BACKTEST_FOLDS, config=config)
        version = model_version(result.params, str(pd.util.hash_pandas_object(history).sum()), "fc")
        forecast = result.forecast.assign(model_version=version)
        forecast["ds"] = pd.to_datetime(forecast["ds"]).dt.date
        components = result.components.assign(model_version=version)
        components["ds"] = pd.to_datetime(components["ds"]).dt.date
        summary = backtest.summary.assign(model_version=version)
        append_frame(conn, ML_SCHEMA, "forecasts", forecast, FORECASTS, replace_version=version)
        append_frame(conn, ML_SCHEMA, "forecast_components", components, COMPONENTS, replace_version=version)
        append_frame(conn, ML_SCHEMA, "forecast_backtest", summary, BACKTEST, replace_version=version)
        planning = _planning_frame(result.forecast).assign(model_version=version)
        append_frame(conn, ML_SCHEMA, "planning_forecast", planning, PLANNING, replace_version=version)
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
    metrics = sorted({s.split("|", 1)[0] for s in forecast["series"].unique()})
    plots = "\n\n".join(_plot_metric(history, result.forecast, m) for m in metrics)
    yield dg.MaterializeResult(
        asset_key=dg.AssetKey([ML_SCHEMA, "forecasts"]),
        metadata={
            "model_version": version,
            "series": int(forecast["series"].nunique()),
            "horizon_days": FORECAST_HORIZON,
            "skipped": dg.MetadataValue.json(result.skipped),
            "plots": dg.MetadataValue.md(plots),
            "dagster/row_count": len(forecast),
        },
    )
    yield dg.MaterializeResult(
        asset_key=dg.AssetKey([ML_SCHEMA, "forecast_components"]),
        metadata={"model_version": version, "dagster/row_count": len(components)},
    )
    yield dg.MaterializeResult(
        asset_key=dg.AssetKey([ML_SCHEMA, "forecast_backtest"]),
        metadata={
            "model_version": version,
            "backtest": dg.MetadataValue.md(_md_table(backtest.summary.drop(columns=["folds"]))),
            "dagster/row_count": len(summary),
        },
    )
    yield dg.MaterializeResult(
        asset_key=dg.AssetKey([ML_SCHEMA, "planning_forecast"]),
        metadata={
            "model_version": version,
            "total": dg.MetadataValue.md(_md_table(planning.loc[planning["channel"] == "total",
                                                                ["month", "revenue", "spend", "roas", "new_customers", "cac"]])),
            "dagster/row_count": len(planning),
        },
    )


@dg.asset_check(
    asset=dg.AssetKey([ML_SCHEMA, "forecast_backtest"]),
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


ml_assets = [customer_segmentation, prophet_forecasts]
ml_checks = [forecasts_beat_seasonal_naive]
