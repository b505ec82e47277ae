"""ml.features: the per-customer RFM table and the log / robust-scaling transform."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.features import FeatureTransformer, customer_features_from_frames, signed_log1p


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    customers = pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4"],
        "age": [30, 40, None, 50],
        "sessions": [10, 3, 1, 7],
        "pages_per_session": [4.0, 2.5, 1.0, 3.0],
        "avg_session_duration": [120.0, 60.0, 30.0, 90.0],
    })
    lines = pd.DataFrame({
        "order_id": ["100", "100", "101", "C102", "103", "104", "105"],
        "customer_id": ["C1", "C1", "C1", "C1", "C2", "", "C3"],
        "ordered_at": ["2024-01-01 10:00:00", "2024-01-01 10:00:00", "2024-01-05 09:00:00",
                       "2024-01-10 12:00:00", "2024-01-03 08:00:00", "2024-01-09 23:00:00",
                       "2024-01-02 11:00:00"],
        "quantity": [2, 1, 1, -2, 1, 5, 1],
        "unit_price": [10.0, 5.0, 20.0, 10.0, 7.5, 3.0, 4.0],
    })
    return customers, lines


def test_rfm_definitions() -> None:
    customers, lines = _frames()
    f = customer_features_from_frames(customers, lines).set_index("customer_id")
    # reference = last order day (2024-01-10, the cancellation) + 1 = 2024-01-11
    assert f.loc["C1", "recency_days"] == 6      # last non-cancelled order 2024-01-05
    assert f.loc["C1", "frequency"] == 2         # 100 and 101; C102 is a cancellation
    assert f.loc["C1", "monetary"] == pytest.approx(2 * 10 + 5 + 20 - 2 * 10)  # net of cancellation
    assert f.loc["C2", "recency_days"] == 8 and f.loc["C2", "frequency"] == 1
    assert f.loc["C2", "monetary"] == pytest.approx(7.5)
    # C4 never ordered: frequency 0, monetary 0, recency = whole window (2024-01-01 → 01-11)
    assert f.loc["C4", "frequency"] == 0 and f.loc["C4", "monetary"] == 0
    assert f.loc["C4", "recency_days"] == 10
    # guest line (empty customer id) counted for nobody; behaviour columns copied
    assert f["monetary"].sum() == pytest.approx(25 + 7.5 + 4)
    assert np.isnan(f.loc["C3", "age"]) and f.loc["C1", "sessions"] == 10
    assert list(f.index) == ["C1", "C2", "C3", "C4"]


def test_reference_date_override() -> None:
    customers, lines = _frames()
    f = customer_features_from_frames(customers, lines, reference_date="2024-02-01")
    assert f.set_index("customer_id").loc["C1", "recency_days"] == 27


def test_transform_signed_log_and_robust_scaling() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(1000)],
                          "recency_days": rng.integers(1, 700, 1000),
                          "frequency": rng.integers(1, 30, 1000),
                          "monetary": rng.normal(200, 300, 1000)})  # some negative
    assert (frame["monetary"] < 0).any()
    t = FeatureTransformer(features=("recency_days", "frequency", "monetary"))
    x = t.fit_transform(frame)
    assert x.shape == (1000, 3) and np.isfinite(x).all()
    # robust scaling: each column has median 0 and IQR 1 after the transform
    np.testing.assert_allclose(np.median(x, axis=0), 0.0, atol=1e-9)
    iqr = np.percentile(x, 75, axis=0) - np.percentile(x, 25, axis=0)
    np.testing.assert_allclose(iqr, 1.0, atol=1e-9)
    # monotone in monetary, sign kept before scaling
    order = np.argsort(frame["monetary"].to_numpy())
    assert np.all(np.diff(x[order, 2]) >= 0)
    np.testing.assert_allclose(signed_log1p(np.array([-9.0, 0.0, 9.0])), [-np.log(10), 0, np.log(10)])


def test_transform_imputes_median_and_reports_missing_columns() -> None:
    frame = pd.DataFrame({"customer_id": ["a", "b", "c"], "recency_days": [1, 10, 100],
                          "frequency": [1, 2, 3], "monetary": [5.0, 50.0, 500.0],
                          "age": [20.0, np.nan, 40.0]})
    t = FeatureTransformer(features=("recency_days", "frequency", "monetary", "age"))
    x = t.fit_transform(frame)
    assert x[1, 3] == pytest.approx(0.0)  # imputed with the median (30) → scaled median 0
    with pytest.raises(KeyError, match="sessions"):
        FeatureTransformer(features=("recency_days", "sessions")).fit(frame)


def test_ml_imports_without_dagster_database_or_prophet() -> None:
    code = ("import sys, ml; bad = [m for m in ('dagster', 'psycopg', 'sqlalchemy', 'prophet') "
            "if m in sys.modules]; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == ""
