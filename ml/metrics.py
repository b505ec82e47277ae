"""Forecast error metrics: MAPE (zeros skipped), sMAPE and MASE."""

from __future__ import annotations

import numpy as np


def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error in % over the points whose actual is non-zero.

    Zero actuals make the percentage undefined, so they are skipped (not clipped); NaN
    when every actual is zero. Use :func:`smape` or :func:`mase` for series with many zeros.
    """
    a, f = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    keep = (a != 0) & np.isfinite(a) & np.isfinite(f)
    if not keep.any():
        return float("nan")
    return float(np.mean(np.abs((a[keep] - f[keep]) / a[keep])) * 100.0)


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in % (0..200): mean of 2|a − f| / (|a| + |f|); a point where both are 0 counts 0."""
    a, f = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    den = np.abs(a) + np.abs(f)
    terms = np.where(den > 0, 2.0 * np.abs(a - f) / np.where(den > 0, den, 1.0), 0.0)
    return float(np.mean(terms) * 100.0) if len(terms) else float("nan")


def seasonal_naive_scale(train: np.ndarray, season: int = 7) -> float:
    """In-sample MAE of the seasonal-naive forecast (|y_t − y_{t−season}|) on ``train``."""
    y = np.asarray(train, dtype=float)
    if len(y) <= season:
        return float("nan")
    diff = np.abs(y[season:] - y[:-season])
    diff = diff[np.isfinite(diff)]
    return float(diff.mean()) if len(diff) else float("nan")


def mase(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray, season: int = 7) -> float:
    """Mean absolute scaled error: MAE of the forecast ÷ :func:`seasonal_naive_scale` of
    ``train``. < 1: better than the in-sample seasonal-naive one-step error. NaN if the
    scale is 0 or undefined."""
    scale = seasonal_naive_scale(train, season)
    a, f = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    if not np.isfinite(scale) or scale == 0 or len(a) == 0:
        return float("nan")
    return float(np.mean(np.abs(a - f)) / scale)
