"""Pure-Python ML for the marketing warehouse: functions and models over pandas DataFrames.

No database or Dagster imports: Dagster assets read the marts, call these functions and
write ``ml.*`` tables. Modules (one job each):

* :mod:`ml.features` — per-customer RFM + behaviour table, log/robust-scaling transform;
* :mod:`ml.segmentation` — :class:`CustomerSegmenter` / :func:`segment_customers`
  (k-means with silhouette-chosen k, MiniBatchKMeans for large n, optional DBSCAN);
* :mod:`ml.silhouette` — exact silhouette for many labelings at once;
* :mod:`ml.baselines` — RFM quintile segments, seasonal-naive forecast;
* :mod:`ml.forecasting` — :class:`ProphetForecaster`, :func:`forecast_series`, :func:`forecast_many`;
* :mod:`ml.series` — long ``series, ds, y`` frames from campaign / customer frames;
* :mod:`ml.backtest` — rolling-origin backtest (MAPE, sMAPE, MASE vs seasonal naive);
* :mod:`ml.metrics` — forecast error metrics;
* :mod:`ml.planning` — ROI of planned spend, new customers and CAC;
* :mod:`ml.registry` — model versions, data fingerprints, ``ml.model_runs`` rows.

Prophet is imported lazily, on the first forecast.
"""

__version__ = "0.1.0"

from ml.backtest import BacktestResult, backtest_series, rolling_origin_backtest, summarize_backtest
from ml.baselines import rfm_grid_segments, rfm_scores, seasonal_naive_forecast
from ml.features import FeatureTransformer, customer_features_from_frames
from ml.forecasting import ForecastConfig, ForecastResult, ProphetForecaster, forecast_many, forecast_series
from ml.planning import acquisition_forecast, roi_forecast
from ml.registry import model_run_record, model_runs_frame
from ml.segmentation import CustomerSegmenter, SegmentationConfig, SegmentationResult, segment_customers
from ml.series import campaign_daily_series, new_customers_daily

__all__ = [
    "BacktestResult", "CustomerSegmenter", "FeatureTransformer", "ForecastConfig", "ForecastResult",
    "ProphetForecaster", "SegmentationConfig", "SegmentationResult", "acquisition_forecast",
    "backtest_series", "campaign_daily_series", "customer_features_from_frames", "forecast_many",
    "forecast_series", "model_run_record", "model_runs_frame", "new_customers_daily",
    "rfm_grid_segments", "rfm_scores", "roi_forecast", "rolling_origin_backtest",
    "seasonal_naive_forecast", "segment_customers", "summarize_backtest",
]
