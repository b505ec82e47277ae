"""Naive baselines the models must beat: RFM quintile segments and seasonal-naive forecasts."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The classic recency × frequency grid of RFM marketing (scores 1..5, 5 = best).
#: Each entry: (label, recency scores, frequency scores); checked in this order.
RFM_GRID: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("Champions", (5,), (4, 5)),
    ("Loyal customers", (3, 4), (4, 5)),
    ("Can't lose them", (1, 2), (5,)),
    ("At risk", (1, 2), (3, 4)),
    ("Hibernating", (1, 2), (1, 2)),
    ("About to sleep", (3,), (1, 2)),
    ("Need attention", (3,), (3,)),
    ("Potential loyalists", (4, 5), (2, 3)),
    ("Promising", (4,), (1,)),
    ("New customers", (5,), (1,)),
)


def quintile_score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Score 1..5 by percentile rank (ties share a score: average rank), 5 = best."""
    pct = values.rank(method="average", pct=True, ascending=higher_is_better)
    return np.ceil(pct * 5).clip(1, 5).astype("int64")


def rfm_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """``customer_id, r_score, f_score, m_score, rfm_score`` (e.g. ``"545"``) quintile scores.

    Recency: fewer days is better; frequency and monetary: more is better.
    """
    out = pd.DataFrame({"customer_id": frame["customer_id"].to_numpy()})
    out["r_score"] = quintile_score(frame["recency_days"], higher_is_better=False).to_numpy()
    out["f_score"] = quintile_score(frame["frequency"]).to_numpy()
    out["m_score"] = quintile_score(frame["monetary"]).to_numpy()
    out["rfm_score"] = (out["r_score"].astype(str) + out["f_score"].astype(str)
                        + out["m_score"].astype(str))
    return out


def rfm_grid_segments(frame: pd.DataFrame) -> pd.DataFrame:
    """Baseline segments from the classic R × F grid (:data:`RFM_GRID`) of quintile scores.

    Returns ``customer_id, r_score, f_score, m_score, rfm_score, segment_label`` (10 labels).
    """
    scores = rfm_scores(frame)
    label = np.full(len(scores), "Other", dtype=object)
    unset = np.ones(len(scores), dtype=bool)
    for name, rs, fs in RFM_GRID:
        hit = unset & scores["r_score"].isin(rs).to_numpy() & scores["f_score"].isin(fs).to_numpy()
        label[hit] = name
        unset &= ~hit
    scores["segment_label"] = label
    return scores


def seasonal_naive_forecast(history: pd.DataFrame, horizon: int, season: int = 7) -> pd.DataFrame:
    """Seasonal-naive forecast ``y_t = y_{t-season}`` (repeating the last season) for
    ``horizon`` days after the last ``ds`` of a daily ``history[ds, y]``; columns ``ds, yhat``.
    """
    hist = history.sort_values("ds")
    y = hist["y"].to_numpy(dtype=float)
    if len(y) < season:
        raise ValueError(f"need at least {season} observations for a seasonal-naive forecast")
    last = y[-season:]
    yhat = last[np.arange(horizon) % season]
    ds = pd.date_range(pd.Timestamp(hist["ds"].iloc[-1]) + pd.Timedelta(days=1), periods=horizon,
                       freq="D")
    return pd.DataFrame({"ds": ds, "yhat": yhat})
