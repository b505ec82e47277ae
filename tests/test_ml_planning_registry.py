"""ml.planning (ROI, CAC) and ml.registry (model_runs rows, versions)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from ml.planning import acquisition_forecast, roi_forecast
from ml.registry import (MODEL_RUN_COLUMNS, current_code_version, data_fingerprint, model_run_record,
                         model_runs_frame, model_version)

DAYS = pd.date_range("2026-01-01", periods=14, freq="D")


def test_roi_with_planned_spend_and_aggregation() -> None:
    revenue = pd.DataFrame({"ds": DAYS, "yhat": 300.0})
    planned = pd.DataFrame({"ds": DAYS, "spend": [100.0] * 13 + [0.0]})
    daily = roi_forecast(revenue, planned_spend=planned)
    assert list(daily.columns) == ["ds", "revenue", "spend", "roas", "roi"]
    assert daily["roas"].iloc[0] == pytest.approx(3.0) and daily["roi"].iloc[0] == pytest.approx(2.0)
    assert np.isnan(daily["roas"].iloc[-1])  # zero spend: undefined, not inf
    total = roi_forecast(revenue, planned_spend=planned, period="total")
    assert len(total) == 1
    assert total["roas"].iloc[0] == pytest.approx(14 * 300 / 1300)  # ratio of sums
    weekly = roi_forecast(revenue, planned_spend=planned, period="W")
    assert weekly["revenue"].sum() == pytest.approx(14 * 300)


def test_roi_from_spend_forecast_and_cac() -> None:
    revenue = pd.DataFrame({"ds": DAYS, "yhat": np.arange(14) * 10.0})
    spend = pd.DataFrame({"ds": DAYS, "yhat": 50.0, "yhat_lower": 40.0, "yhat_upper": 60.0})
    r = roi_forecast(revenue, spend_forecast=spend)
    np.testing.assert_allclose(r["roas"], np.arange(14) * 10.0 / 50.0)
    new = pd.DataFrame({"ds": DAYS, "yhat": [5.0] * 13 + [0.0]})
    a = acquisition_forecast(new, spend_forecast=spend)
    assert list(a.columns) == ["ds", "new_customers", "spend", "cac"]
    assert a["cac"].iloc[0] == pytest.approx(10.0) and np.isnan(a["cac"].iloc[-1])
    assert acquisition_forecast(new, spend_forecast=spend, period="total")["cac"].iloc[0] == \
        pytest.approx(14 * 50 / 65)
    with pytest.raises(ValueError):
        roi_forecast(revenue)


def test_model_run_record() -> None:
    rec = model_run_record(
        "customer_segmentation", "seg-abc", {"k_range": (2, 8), "features": ["a", "b"]},
        pd.Timestamp("2024-01-01"), pd.Timestamp("2025-12-30"), np.int64(20_000),
        {"silhouette": np.float64(0.45), "ari": 0.97, "mase": float("nan"), "k": np.int64(5)},
        trained_at=datetime(2026, 1, 1, tzinfo=timezone.utc), code_version="test")
    assert json.loads(rec["params"]) == {"features": ["a", "b"], "k_range": [2, 8]}
    assert json.loads(rec["metrics"]) == {"ari": 0.97, "k": 5, "mase": None, "silhouette": 0.45}
    assert rec["row_count"] == 20_000 and isinstance(rec["row_count"], int)
    frame = model_runs_frame([rec, {**rec, "model_name": "forecast"}])
    assert list(frame.columns) == MODEL_RUN_COLUMNS and len(frame) == 2
    now = model_run_record("m", "v", {}, None, None, 0, {})
    assert now["trained_at"].tzinfo is not None
    assert now["code_version"].startswith("marketing-warehouse ")
    assert current_code_version() == now["code_version"]


def test_versions_are_deterministic_and_data_sensitive() -> None:
    f = pd.DataFrame({"id": ["a", "b"], "x": [1.0, 2.0]})
    fp = data_fingerprint(f, ["id", "x"])
    assert fp == data_fingerprint(f.copy(), ["id", "x"])
    assert fp != data_fingerprint(f.assign(x=[1.0, 2.5]), ["id", "x"])
    assert model_version({"a": 1, "b": 2}, fp, "m") == model_version({"b": 2, "a": 1}, fp, "m")
    assert model_version({"a": 1}, fp, "m") != model_version({"a": 2}, fp, "m")
