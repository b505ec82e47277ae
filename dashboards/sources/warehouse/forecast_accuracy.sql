-- Rolling-origin backtest of the newest forecasts per series: Prophet and the
-- seasonal-naive baseline on the same folds (marts.fct_forecast_accuracy).
select
    model_version,
    series,
    metric,
    channel,
    model,
    folds,
    mape,
    smape,
    mase,
    baseline_mase,
    worse_than_baseline
from marts.fct_forecast_accuracy
