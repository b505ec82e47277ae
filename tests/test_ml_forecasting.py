"""ml.forecasting / ml.backtest: Prophet's documented quick start, known seasonality, demo data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.backtest import fold_windows, rolling_origin_backtest, summarize_backtest
from ml.baselines import seasonal_naive_forecast
from ml.forecasting import ProphetForecaster, forecast_many, forecast_series
from ml.metrics import mape, mase, seasonal_naive_scale, smape
from ml.series import campaign_daily_series, new_customers_daily
from orchestration.demo import DemoConfig, generate

WEEKDAY_EFFECT = np.array([8.0, 6.0, 4.0, 2.0, 0.0, -10.0, -10.0])  # Monday .. Sunday


def known_series(days: int = 730, seed: int = 7) -> pd.DataFrame:
    """Trend + weekly + yearly + Gaussian noise, seeded."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2023-01-01", periods=days, freq="D")
    t = np.arange(days)
    yearly = 12 * np.sin(2 * np.pi * t / 365.25) + 6 * np.cos(2 * np.pi * t / 365.25)
    y = 100 + 0.05 * t + yearly + WEEKDAY_EFFECT[ds.day_of_week.to_numpy()] + rng.normal(0, 3, days)
    return pd.DataFrame({"ds": ds, "y": y})


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo_fc")
    generate(out, DemoConfig(seed=42, customers=3_000, campaigns=40, days=730, errors_per_reason=0))
    return out


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # inside Prophet, with pandas 3
def test_prophet_quick_start_peyton_manning(shared_data: Path) -> None:
    """Prophet's documented quick start: defaults, 365 future days, yhat(2017-01-15) ≈ 8.2126."""
    from prophet import Prophet

    df = pd.read_csv(shared_data / "prophet_examples" / "example_wp_log_peyton_manning.csv")
    m = Prophet()
    m.fit(df)
    future = m.make_future_dataframe(periods=365)
    fc = m.predict(future)
    assert len(fc) == len(df) + 365
    direct = float(fc.loc[fc["ds"] == "2017-01-15", "yhat"].iloc[0])
    assert direct == pytest.approx(8.2126, abs=0.01)
    # the wrapper with Prophet's own seasonality rules gives the same point forecast
    res = forecast_series(df, horizon=365, weekly="prophet", yearly="prophet")
    ours = res.forecast.set_index("ds")["yhat"]
    assert ours.index[-1] == pd.Timestamp("2017-01-19") and len(ours) == 365
    assert float(ours[pd.Timestamp("2017-01-15")]) == pytest.approx(direct, abs=1e-6)


def test_forecast_series_outputs_components_and_determinism() -> None:
    hist = known_series()
    r1 = forecast_series(hist, horizon=30)
    r2 = forecast_series(hist, horizon=30)
    assert list(r1.forecast.columns) == ["ds", "yhat", "yhat_lower", "yhat_upper"]
    assert list(r1.components.columns) == ["ds", "trend", "weekly", "yearly"]
    assert len(r1.forecast) == 30
    assert r1.forecast["ds"].iloc[0] == hist["ds"].iloc[-1] + pd.Timedelta(days=1)
    pd.testing.assert_frame_equal(r1.forecast, r2.forecast)  # intervals too: seeded draws
    assert (r1.forecast["yhat_lower"] < r1.forecast["yhat"]).all()
    assert (r1.forecast["yhat"] < r1.forecast["yhat_upper"]).all()
    parts = r1.components[["trend", "weekly", "yearly"]].sum(axis=1)
    np.testing.assert_allclose(parts, r1.forecast["yhat"], rtol=1e-9)
    assert r1.runs["model_version"].iloc[0] == r2.runs["model_version"].iloc[0]
    assert r1.runs["row_count"].iloc[0] == 730
    # the caller's global NumPy random state is left as it was
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    forecast_series(hist.iloc[-200:], horizon=5)
    assert np.random.random() == expected


def test_recovers_known_seasonality_and_beats_seasonal_naive() -> None:
    hist = known_series()
    f = ProphetForecaster().fit(hist)
    comp = f.predict(horizon=365, include_history=True)
    week = comp.iloc[:7]
    weekly = week.set_index(week["ds"].dt.day_of_week)["weekly"].sort_index().to_numpy()
    assert np.corrcoef(weekly, WEEKDAY_EFFECT)[0, 1] > 0.98
    np.testing.assert_allclose(weekly - weekly.mean(), WEEKDAY_EFFECT - WEEKDAY_EFFECT.mean(), atol=1.5)
    t = (comp["ds"] - pd.Timestamp("2023-01-01")).dt.days.to_numpy()
    planted = 12 * np.sin(2 * np.pi * t / 365.25) + 6 * np.cos(2 * np.pi * t / 365.25)
    assert np.corrcoef(comp["yearly"], planted)[0, 1] > 0.95

    bt = rolling_origin_backtest(hist, horizon=28, folds=3)
    assert len(bt.folds) == 6 and set(bt.folds["model"]) == {"prophet", "seasonal_naive"}
    s = bt.summary.set_index("model")
    assert s.loc["prophet", "mase"] < s.loc["seasonal_naive", "mase"]
    assert s.loc["prophet", "mase"] < 1.0      # noise sd 3 vs weekly-diff scale ~4.8
    assert s.loc["prophet", "mape"] < 3.0
    assert not s.loc["prophet", "worse_than_baseline"]


def test_demo_revenue_backtest(demo_dir: Path) -> None:
    campaigns = pd.read_csv(demo_dir / "campaign_performance/campaign_performance.csv")
    frame = campaign_daily_series(campaigns, by=None)
    revenue = frame[frame["series"] == "revenue|total"]
    assert len(revenue) == 730
    np.testing.assert_allclose(revenue["y"].sum(), campaigns["revenue"].sum())
    bt = rolling_origin_backtest(revenue, horizon=28, folds=3)
    s = bt.summary.set_index("model")
    assert s.loc["prophet", "mase"] < s.loc["seasonal_naive", "mase"]
    assert s.loc["prophet", "mape"] < s.loc["seasonal_naive", "mape"]
    assert not s.loc["prophet", "worse_than_baseline"]


def test_forecast_many_per_channel_and_total(demo_dir: Path) -> None:
    campaigns = pd.read_csv(demo_dir / "campaign_performance/campaign_performance.csv")
    customers = pd.read_csv(demo_dir / "customers/customers.csv")
    frame = pd.concat([campaign_daily_series(campaigns), new_customers_daily(customers)])
    wanted = ["revenue|total", "spend|total", "new_customers|total", "revenue|email", "nope|x"]
    short = pd.DataFrame({"series": "tiny", "ds": pd.date_range("2025-01-01", periods=5), "y": 1.0})
    res = forecast_many(pd.concat([frame, short]), horizon=14, series=[*wanted, "tiny"],
                        nonnegative=True, uncertainty_samples=200)
    assert res.skipped.keys() == {"nope|x", "tiny"}
    assert list(res.runs["series"]) == wanted[:4]
    assert res.forecast.groupby("series").size().eq(14).all()
    assert (res.forecast["yhat_lower"] >= 0).all()
    assert list(res.components.columns) == ["series", "ds", "trend", "weekly", "yearly"]
    assert res.runs["model_version"].is_unique


def test_backtest_folds_and_flag() -> None:
    assert fold_windows(100, 10, 3) == [(70, 80), (80, 90), (90, 100)]
    assert fold_windows(100, 28, 3, step=7, min_train=28) == [(58, 86), (65, 93), (72, 100)]
    assert fold_windows(40, 28, 3) == []  # no fold keeps 28 training days
    folds = pd.DataFrame({"series": "s", "model": ["prophet", "seasonal_naive"] * 2,
                          "fold": [0, 0, 1, 1], "mape": [10.0, 5.0, 12.0, 6.0],
                          "smape": 1.0, "mase": [1.5, 1.0, 1.7, 1.1]})
    s = summarize_backtest(folds).set_index("model")
    assert s.loc["prophet", "worse_than_baseline"] and not s.loc["seasonal_naive", "worse_than_baseline"]
    assert s.loc["prophet", "mase"] == pytest.approx(1.6)


def test_metrics() -> None:
    a, f = np.array([0.0, 10.0, 20.0]), np.array([5.0, 11.0, 18.0])
    assert mape(a, f) == pytest.approx((0.1 + 0.1) / 2 * 100)  # the zero actual is skipped
    assert np.isnan(mape([0.0, 0.0], [1.0, 2.0]))
    assert smape([0.0, 10.0], [0.0, 10.0]) == 0.0
    assert smape([0.0], [5.0]) == pytest.approx(200.0)
    train = np.tile([1.0, 2, 3, 4, 5, 6, 7], 3) + np.r_[np.zeros(7), np.ones(7), 2 * np.ones(7)]
    assert seasonal_naive_scale(train) == pytest.approx(1.0)
    assert mase([10.0, 12.0], [11.0, 10.0], train) == pytest.approx(1.5)
    naive = seasonal_naive_forecast(pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=21),
                                                  "y": train}), 10)
    assert list(naive["yhat"]) == [3, 4, 5, 6, 7, 8, 9, 3, 4, 5]
    assert naive["ds"].iloc[0] == pd.Timestamp("2024-01-22")
