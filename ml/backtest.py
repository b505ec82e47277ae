"""Rolling-origin backtest of Prophet against the seasonal-naive baseline, per series.

Folds (oldest first) are the last ``folds`` windows of ``horizon`` days, ``step`` days
apart (default ``step = horizon``: adjacent, non-overlapping test windows ending on the
last day of the data). Each fold trains on every day before its test window (expanding
window) and forecasts the whole window from its origin (the last training day).

Metrics per fold: ``mape`` (%, zero actuals skipped — see :func:`ml.metrics.mape`),
``smape`` (%) and ``mase`` (MAE ÷ the in-sample MAE of the seasonal-naive(7) forecast
on that fold's training data). Prophet runs without interval sampling here (point
forecasts only; same point forecast, much faster).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ml.baselines import seasonal_naive_forecast
from ml.forecasting import ForecastConfig, ProphetForecaster, prepare_history
from ml.metrics import mape, mase, smape

BASELINE = "seasonal_naive"
PROPHET = "prophet"
FOLD_COLUMNS = ["series", "model", "fold", "origin", "test_start", "test_end", "n_test",
                "mape", "smape", "mase"]


@dataclass
class BacktestResult:
    """``folds``: one row per series × model × fold (:data:`FOLD_COLUMNS`); ``summary``:
    one row per series × model with mean metrics and ``worse_than_baseline``."""

    folds: pd.DataFrame
    summary: pd.DataFrame


def fold_windows(n: int, horizon: int, folds: int, step: int | None = None,
                 min_train: int = 28) -> list[tuple[int, int]]:
    """(test_start, test_end_exclusive) row positions of each fold, oldest first; folds
    whose training part would be shorter than ``min_train`` rows are left out."""
    step = horizon if step is None else step
    out = []
    for i in range(folds):
        end = n - (folds - 1 - i) * step
        start = end - horizon
        if start >= min_train and end <= n:
            out.append((start, end))
    return out


def _predict(model: str, train: pd.DataFrame, horizon: int, config: ForecastConfig,
             season: int) -> np.ndarray:
    if model == BASELINE:
        return seasonal_naive_forecast(train, horizon, season)["yhat"].to_numpy()
    if model == PROPHET:
        f = ProphetForecaster(config).fit(train)
        return f.predict(horizon)["yhat"].to_numpy()
    raise ValueError(f"unknown model {model!r} ({PROPHET}, {BASELINE})")


def backtest_series(history: pd.DataFrame, horizon: int = 28, folds: int = 3,
                    step: int | None = None, config: ForecastConfig | None = None,
                    models: Sequence[str] = (PROPHET, BASELINE), season: int = 7,
                    fill_missing: float | None = 0.0, series: str = "y") -> pd.DataFrame:
    """Backtest one daily ``history[ds, y]``; rows with :data:`FOLD_COLUMNS`.

    Missing days are filled with ``fill_missing`` first (the seasonal-naive forecast and
    MASE need a regular daily grid; ``None`` keeps gaps, then lags are by row).
    """
    cfg = replace(config or ForecastConfig(), uncertainty_samples=0)
    h = prepare_history(history, fill_missing=fill_missing)
    rows = []
    for k, (start, end) in enumerate(fold_windows(len(h), horizon, folds, step,
                                                  min_train=max(4 * season, 28))):
        train, test = h.iloc[:start], h.iloc[start:end]
        actual = test["y"].to_numpy()
        for model in models:
            yhat = _predict(model, train, end - start, cfg, season)
            rows.append({
                "series": series, "model": model, "fold": k, "origin": train["ds"].iloc[-1],
                "test_start": test["ds"].iloc[0], "test_end": test["ds"].iloc[-1],
                "n_test": int(len(test)), "mape": mape(actual, yhat), "smape": smape(actual, yhat),
                "mase": mase(actual, yhat, train["y"].to_numpy(), season),
            })
    return pd.DataFrame(rows, columns=FOLD_COLUMNS)


def summarize_backtest(folds: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Mean ``mape``, ``smape``, ``mase`` per series × model over folds, plus
    ``baseline_mase`` and ``worse_than_baseline`` (model's mean MASE > the baseline's;
    always False on the baseline's own row; NaN MASE compares on MAPE instead)."""
    cols = ["series", "model", "folds", "mape", "smape", "mase", "baseline_mase",
            "worse_than_baseline"]
    if folds.empty:
        return pd.DataFrame(columns=cols)
    s = (folds.groupby(["series", "model"], sort=False)
         .agg(folds=("fold", "nunique"), mape=("mape", "mean"), smape=("smape", "mean"),
              mase=("mase", "mean")).reset_index())
    base = s[s["model"] == baseline].set_index("series")
    s["baseline_mase"] = s["series"].map(base["mase"])
    base_mape = s["series"].map(base["mape"])
    by_mase = s["mase"] > s["baseline_mase"]
    by_mape = s["mape"] > base_mape
    use_mase = s["mase"].notna() & s["baseline_mase"].notna()
    s["worse_than_baseline"] = np.where(use_mase, by_mase, by_mape.fillna(False)).astype(bool)
    s.loc[s["model"] == baseline, "worse_than_baseline"] = False
    return s[cols]


def rolling_origin_backtest(frame: pd.DataFrame, horizon: int = 28, folds: int = 3,
                            step: int | None = None, config: ForecastConfig | None = None,
                            models: Sequence[str] = (PROPHET, BASELINE), season: int = 7,
                            fill_missing: float | None = 0.0) -> BacktestResult:
    """Backtest every series of ``frame[series, ds, y]`` (or a single ``frame[ds, y]``,
    named ``"y"``) and summarize; see the module docstring for folds and metrics."""
    if "series" in frame.columns:
        groups = [(str(name), g) for name, g in frame.groupby(frame["series"].astype(str), sort=True)]
    else:
        groups = [("y", frame)]
    parts = [backtest_series(g, horizon, folds, step, config, models, season, fill_missing, name)
             for name, g in groups]
    parts = [p for p in parts if not p.empty]
    fold_rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FOLD_COLUMNS)
    return BacktestResult(folds=fold_rows, summary=summarize_backtest(fold_rows))
