"""Customer feature table (RFM + behaviour) and the transform that feeds the clustering.

Two jobs:

* :func:`customer_features_from_frames` derives the per-customer table (``customer_id,
  recency_days, frequency, monetary`` + behaviour columns) from raw ``customers`` and
  ``order_lines`` frames, with the same definitions the warehouse computes in SQL
  (``fct_customer_rfm`` / ``dim_customers``);
* :class:`FeatureTransformer` turns that table into the matrix the clustering sees:
  ``log1p`` of the skewed positive columns, a *signed* log for ``monetary`` (net revenue
  can be zero or negative after cancellations: ``sign(x) · log1p(|x|)`` keeps the order
  and the sign instead of clipping), then robust scaling (median / IQR,
  :class:`sklearn.preprocessing.RobustScaler`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.preprocessing import RobustScaler

#: RFM columns every feature table has.
RFM_COLUMNS: tuple[str, ...] = ("recency_days", "frequency", "monetary")
#: Optional behaviour columns (customers.csv / dim_customers names).
BEHAVIOUR_COLUMNS: tuple[str, ...] = ("sessions", "pages_per_session", "avg_session_duration", "age")
#: Default clustering features: RFM + behaviour.
DEFAULT_FEATURES: tuple[str, ...] = RFM_COLUMNS + BEHAVIOUR_COLUMNS
#: Column → transform applied before scaling (``log1p``, ``signed_log`` or ``none``).
DEFAULT_TRANSFORMS: dict[str, str] = {
    "recency_days": "log1p",
    "frequency": "log1p",
    "monetary": "signed_log",
    "sessions": "log1p",
    "pages_per_session": "log1p",
    "avg_session_duration": "log1p",
    "age": "none",
}


def customer_features_from_frames(customers: pd.DataFrame, order_lines: pd.DataFrame,
                                  reference_date: pd.Timestamp | str | None = None) -> pd.DataFrame:
    """Per-customer RFM + behaviour table from raw customers and order-line frames.

    Definitions (the warehouse computes the same in SQL):

    * ``recency_days`` = (reference date − date of the last non-cancelled order) in days,
      where the reference date defaults to the day after the latest order date in
      ``order_lines`` (so a customer who ordered on that last day has recency 1);
    * ``frequency`` = distinct non-cancelled order ids (cancellations: ids starting ``C``);
    * ``monetary`` = Σ quantity × unit_price over all lines incl. cancellations (net revenue,
      may be ≤ 0).

    Lines with an empty customer id (guest checkout) are ignored. Customers in
    ``customers`` with no order get frequency 0, monetary 0 and, as recency, the
    whole observed window (reference date − first order date in the data). Behaviour
    columns (sessions, pages_per_session, avg_session_duration, age) are copied from
    ``customers`` when present. One row per customer of ``customers``, in its order.
    """
    all_days = pd.to_datetime(order_lines["ordered_at"]).dt.normalize()
    ref = (pd.Timestamp(reference_date).normalize() if reference_date is not None
           else all_days.max() + pd.Timedelta(days=1))
    cid = order_lines["customer_id"].astype("string").str.strip()
    registered = (cid.notna() & (cid != "")).to_numpy()
    lines = order_lines.loc[registered, ["order_id", "quantity", "unit_price"]].assign(
        customer_id=cid[registered])
    day = all_days[registered]
    is_cancel = lines["order_id"].astype(str).str.startswith("C")
    placed = lines[~is_cancel].assign(day=day[~is_cancel])
    per = placed.groupby("customer_id").agg(last_day=("day", "max"), frequency=("order_id", "nunique"))
    money = (lines["quantity"] * lines["unit_price"]).groupby(lines["customer_id"]).sum()

    out = pd.DataFrame({"customer_id": customers["customer_id"].astype(str).to_numpy()})
    idx = out["customer_id"]
    window = (ref - all_days.min()).days
    last = per["last_day"].reindex(idx).to_numpy()
    out["recency_days"] = ((ref - pd.to_datetime(last)).days).to_numpy(dtype=float, na_value=np.nan)
    out["recency_days"] = out["recency_days"].fillna(float(window))
    out["frequency"] = per["frequency"].reindex(idx).fillna(0).astype("int64").to_numpy()
    out["monetary"] = money.reindex(idx).fillna(0.0).round(2).to_numpy()
    for col in BEHAVIOUR_COLUMNS:
        if col in customers.columns:
            out[col] = pd.to_numeric(customers[col], errors="coerce").to_numpy(dtype=float)
    return out


def signed_log1p(x: np.ndarray) -> np.ndarray:
    """``sign(x) · log1p(|x|)``: log-like compression that keeps zero and negatives ordered."""
    return np.sign(x) * np.log1p(np.abs(x))


def _apply(kind: str, x: np.ndarray) -> np.ndarray:
    if kind == "log1p":
        return np.log1p(np.clip(x, 0.0, None))  # negatives (bad data) clip to 0
    if kind == "signed_log":
        return signed_log1p(x)
    if kind == "none":
        return x
    raise ValueError(f"unknown transform {kind!r} (log1p, signed_log, none)")


@dataclass
class FeatureTransformer:
    """log / signed-log transform + robust scaling of a configurable feature list.

    ``features``: columns to use (missing optional ones are an error: pass the list you
    have). ``transforms``: per-column transform, default :data:`DEFAULT_TRANSFORMS`
    (unknown columns: ``none``). Missing values are imputed with the training median
    (of the transformed column). Fitted state: ``medians_`` and ``scaler_``.
    """

    features: Sequence[str] = DEFAULT_FEATURES
    transforms: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TRANSFORMS))
    medians_: np.ndarray | None = None
    scaler_: RobustScaler | None = None

    def _raw(self, frame: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise KeyError(f"feature columns missing from the frame: {missing}")
        cols = [_apply(self.transforms.get(c, "none"),
                       pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan))
                for c in self.features]
        return np.column_stack(cols) if cols else np.empty((len(frame), 0))

    def fit(self, frame: pd.DataFrame) -> FeatureTransformer:
        """Learn the imputation medians and the robust scaler on ``frame``."""
        x = self._raw(frame)
        self.medians_ = np.nan_to_num(np.nanmedian(x, axis=0)) if len(x) else np.zeros(x.shape[1])
        x = np.where(np.isnan(x), self.medians_, x)
        self.scaler_ = RobustScaler().fit(x)
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The scaled feature matrix (rows in ``frame`` order, columns in ``features`` order)."""
        if self.scaler_ is None or self.medians_ is None:
            raise RuntimeError("FeatureTransformer is not fitted")
        x = self._raw(frame)
        x = np.where(np.isnan(x), self.medians_, x)
        return self.scaler_.transform(x)

    def fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        """:meth:`fit` then :meth:`transform`."""
        return self.fit(frame).transform(frame)

    def params(self) -> dict[str, object]:
        """JSON-friendly configuration (for model_version / model_runs)."""
        return {"features": list(self.features),
                "transforms": {c: self.transforms.get(c, "none") for c in self.features},
                "scaler": "robust(median, IQR)"}
