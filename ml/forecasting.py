"""Daily forecasts with Prophet: one series (:func:`forecast_series`) or many (:func:`forecast_many`).

Prophet is imported lazily (``import ml`` stays fast and works without it until a
forecast is made); importing it here silences cmdstanpy's per-fit INFO lines, Prophet's
INFO lines and the "Importing plotly failed" message (loggers ``cmdstanpy`` and
``prophet`` → WARNING, ``prophet.plot`` off) and Prophet's warning about yearly
seasonality on less than two years (see below: that is a deliberate choice here).

Determinism: Prophet's MAP fit (L-BFGS from a fixed initial point, cmdstan ``seed``
fixed too) gives the same parameters on every run; the interval simulation draws from
NumPy's *global* generator, so predictions seed it with ``config.seed`` and restore the
caller's global state afterwards. Same data + config → identical forecasts.

Seasonality: weekly when the history spans ≥ 14 days, yearly when it spans ≥
``min_days_for_yearly`` (default 365; Prophet's own "auto" would wait for two years,
which would switch yearly off in every backtest fold of a two-year series).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ml.registry import data_fingerprint, model_version

FORECAST_COLUMNS = ["ds", "yhat", "yhat_lower", "yhat_upper"]
COMPONENT_COLUMNS = ["ds", "trend", "weekly", "yearly"]


class _DropShortYearlyWarning(logging.Filter):
    """Drop Prophet's "yearly seasonality with < 730 days" warning: enabling yearly from
    ``min_days_for_yearly`` days on is this module's documented choice."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Yearly seasonality is enabled with less than")


_YEARLY_FILTER = _DropShortYearlyWarning()


@contextmanager
def _quiet_pandas_deprecations() -> Iterator[None]:
    """Hide the pandas deprecation warnings raised inside Prophet's own code (not ours to fix)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The inplace keyword", module="prophet")
        yield


def _prophet_class() -> type:
    """Import Prophet quietly and return the class."""
    logging.getLogger("prophet.plot").disabled = True
    from cmdstanpy.utils import get_logger
    from prophet import Prophet

    get_logger().setLevel(logging.WARNING)
    prophet_logger = logging.getLogger("prophet")
    prophet_logger.setLevel(logging.WARNING)
    if _YEARLY_FILTER not in prophet_logger.filters:
        prophet_logger.addFilter(_YEARLY_FILTER)
    return Prophet


@dataclass(frozen=True)
class ForecastConfig:
    """Parameters of a Prophet forecast (part of the model version).

    ``weekly`` / ``yearly``: ``True`` (on when the history is long enough, see the module
    docstring), ``False`` (off) or ``"prophet"`` (Prophet's own ``"auto"`` rule).
    ``nonnegative``: clip yhat and the interval at 0 (revenue, spend, counts).
    ``uncertainty_samples``: draws for the intervals (0 = no intervals: faster, the
    bounds then equal yhat). ``prophet_kwargs``: anything else for ``Prophet(...)``.
    """

    horizon: int = 90
    weekly: bool | str = True
    yearly: bool | str = True
    min_days_for_yearly: int = 365
    seasonality_mode: str = "additive"
    changepoint_prior_scale: float = 0.05
    seasonality_prior_scale: float = 10.0
    interval_width: float = 0.80
    uncertainty_samples: int = 1000
    nonnegative: bool = False
    seed: int = 42
    prophet_kwargs: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly parameters."""
        return asdict(self)


@dataclass
class ForecastResult:
    """Forecast rows (``ds, yhat, yhat_lower, yhat_upper``), components (``ds, trend, weekly,
    yearly``) and, per series, the run metadata (``series, model_version, train_start,
    train_end, row_count``); :func:`forecast_many` prefixes a ``series`` column and lists
    series it could not fit in ``skipped`` (series → reason)."""

    forecast: pd.DataFrame
    components: pd.DataFrame
    runs: pd.DataFrame
    params: dict[str, Any]
    skipped: dict[str, str] = field(default_factory=dict)


def prepare_history(df: pd.DataFrame, fill_missing: float | None = None) -> pd.DataFrame:
    """Clean daily history: ``ds`` as day timestamps, ``y`` float, summed per day, sorted.

    Rows with a missing ``y`` are dropped; with ``fill_missing`` set, days absent between
    the first and last ``ds`` are added with that value (e.g. 0 for campaign metrics,
    where no row means nothing happened).
    """
    if not {"ds", "y"} <= set(df.columns):
        raise KeyError("history needs columns ds and y")
    h = pd.DataFrame({"ds": pd.to_datetime(df["ds"]).dt.tz_localize(None).dt.normalize(),
                      "y": pd.to_numeric(df["y"], errors="coerce").astype(float)})
    h = h.dropna(subset=["ds", "y"]).groupby("ds", as_index=False)["y"].sum().sort_values("ds")
    if fill_missing is not None and len(h):
        days = pd.date_range(h["ds"].iloc[0], h["ds"].iloc[-1], freq="D")
        h = h.set_index("ds").reindex(days, fill_value=fill_missing).rename_axis("ds").reset_index()
    return h.reset_index(drop=True)


class ProphetForecaster:
    """Prophet behind fit/predict with stored parameters.

    After :meth:`fit`: ``model_`` (the Prophet object), ``history_`` (cleaned ``ds, y``),
    ``train_start_``, ``train_end_``, ``row_count_``, ``model_version_``.
    """

    def __init__(self, config: ForecastConfig | None = None, **overrides: Any) -> None:
        self.config = replace(config or ForecastConfig(), **overrides)
        self.model_: Any = None
        self.history_: pd.DataFrame | None = None
        self.train_start_: pd.Timestamp | None = None
        self.train_end_: pd.Timestamp | None = None
        self.row_count_: int = 0
        self.model_version_: str | None = None

    def _seasonality(self, setting: bool | str, span_days: int, needed: int) -> bool | str:
        if setting == "prophet":
            return "auto"
        return bool(setting) and span_days >= needed

    def fit(self, history: pd.DataFrame) -> ProphetForecaster:
        """Fit on a daily ``history[ds, y]`` (see :func:`prepare_history` for cleaning)."""
        cfg = self.config
        h = prepare_history(history)
        if len(h) < 2:
            raise ValueError("need at least 2 non-missing observations to fit Prophet")
        span = int((h["ds"].iloc[-1] - h["ds"].iloc[0]).days) + 1
        prophet = _prophet_class()
        self.model_ = prophet(
            weekly_seasonality=self._seasonality(cfg.weekly, span, 14),
            yearly_seasonality=self._seasonality(cfg.yearly, span, cfg.min_days_for_yearly),
            daily_seasonality=False,
            seasonality_mode=cfg.seasonality_mode,
            changepoint_prior_scale=cfg.changepoint_prior_scale,
            seasonality_prior_scale=cfg.seasonality_prior_scale,
            interval_width=cfg.interval_width,
            uncertainty_samples=cfg.uncertainty_samples,
            **cfg.prophet_kwargs,
        )
        with _quiet_pandas_deprecations():
            self.model_.fit(h, seed=cfg.seed)
        self.history_ = h
        self.train_start_, self.train_end_ = h["ds"].iloc[0], h["ds"].iloc[-1]
        self.row_count_ = len(h)
        self.model_version_ = model_version({"model": "prophet", **cfg.as_dict()},
                                            data_fingerprint(h, ["ds", "y"]), prefix="prophet")
        return self

    def predict(self, horizon: int | None = None, include_history: bool = False) -> pd.DataFrame:
        """``ds, yhat, yhat_lower, yhat_upper, trend, weekly, yearly`` for the ``horizon``
        days after the training end (default ``config.horizon``), optionally the history too."""
        if self.model_ is None:
            raise RuntimeError("ProphetForecaster is not fitted")
        horizon = self.config.horizon if horizon is None else horizon
        future = self.model_.make_future_dataframe(periods=horizon, freq="D",
                                                   include_history=include_history)
        state = np.random.get_state()
        np.random.seed(self.config.seed)
        try:
            with _quiet_pandas_deprecations():
                raw = self.model_.predict(future)
        finally:
            np.random.set_state(state)
        out = pd.DataFrame({"ds": raw["ds"]})
        for col in ("yhat", "yhat_lower", "yhat_upper", "trend", "weekly", "yearly"):
            out[col] = raw[col].to_numpy() if col in raw else 0.0
        if self.config.uncertainty_samples == 0:
            out["yhat_lower"] = out["yhat_upper"] = out["yhat"]
        if self.config.nonnegative:
            out[["yhat", "yhat_lower", "yhat_upper"]] = out[["yhat", "yhat_lower", "yhat_upper"]].clip(lower=0)
        return out.reset_index(drop=True)


def _run_row(series: str | None, f: ProphetForecaster) -> dict[str, Any]:
    return {**({"series": series} if series is not None else {}),
            "model_version": f.model_version_, "train_start": f.train_start_,
            "train_end": f.train_end_, "row_count": f.row_count_}


def forecast_series(df: pd.DataFrame, horizon: int = 90, config: ForecastConfig | None = None,
                    include_history: bool = False, **overrides: Any) -> ForecastResult:
    """Forecast one daily series ``df[ds, y]`` ``horizon`` days ahead with Prophet.

    Returns a :class:`ForecastResult`: ``forecast`` (ds, yhat, yhat_lower, yhat_upper),
    ``components`` (ds, trend, weekly, yearly; additive parts of yhat, 0 when a
    seasonality is off), ``runs`` (one row). ``overrides``: :class:`ForecastConfig` fields.
    """
    cfg = replace(config or ForecastConfig(), horizon=horizon, **overrides)
    f = ProphetForecaster(cfg).fit(df)
    pred = f.predict(include_history=include_history)
    return ForecastResult(forecast=pred[FORECAST_COLUMNS], components=pred[COMPONENT_COLUMNS],
                          runs=pd.DataFrame([_run_row(None, f)]), params=cfg.as_dict())


def forecast_many(frame: pd.DataFrame, horizon: int = 90, config: ForecastConfig | None = None,
                  series: Iterable[str] | None = None, fill_missing: float | None = 0.0,
                  min_history: int = 14, include_history: bool = False,
                  **overrides: Any) -> ForecastResult:
    """Forecast every series of a long ``frame[series, ds, y]`` (one Prophet per series).

    Missing days inside each series' span are filled with ``fill_missing`` (default 0:
    campaign metrics have no row on days without activity; ``None`` leaves gaps). Series
    with fewer than ``min_history`` days are skipped (listed in ``result.skipped``).
    ``series`` restricts and orders the series (default: sorted unique names).
    Output frames carry a leading ``series`` column; ``runs`` has one row per series.
    """
    if not {"series", "ds", "y"} <= set(frame.columns):
        raise KeyError("frame needs columns series, ds, y")
    cfg = replace(config or ForecastConfig(), horizon=horizon, **overrides)
    names = list(series) if series is not None else sorted(frame["series"].astype(str).unique())
    forecasts, components, runs, skipped = [], [], [], {}
    groups = dict(tuple(frame.groupby(frame["series"].astype(str), sort=False)))
    for name in names:
        if name not in groups:
            skipped[name] = "no rows"
            continue
        h = prepare_history(groups[name], fill_missing=fill_missing)
        if len(h) < min_history:
            skipped[name] = f"only {len(h)} days of history (< {min_history})"
            continue
        f = ProphetForecaster(cfg).fit(h)
        pred = f.predict(include_history=include_history)
        pred.insert(0, "series", name)
        forecasts.append(pred[["series", *FORECAST_COLUMNS]])
        components.append(pred[["series", *COMPONENT_COLUMNS]])
        runs.append(_run_row(name, f))
    empty_f = pd.DataFrame(columns=["series", *FORECAST_COLUMNS])
    empty_c = pd.DataFrame(columns=["series", *COMPONENT_COLUMNS])
    return ForecastResult(
        forecast=pd.concat(forecasts, ignore_index=True) if forecasts else empty_f,
        components=pd.concat(components, ignore_index=True) if components else empty_c,
        runs=pd.DataFrame(runs, columns=["series", "model_version", "train_start", "train_end",
                                         "row_count"]),
        params=cfg.as_dict(), skipped=skipped)
