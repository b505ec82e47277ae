-- Actuals and the newest forecast of every series (metric x channel) on one daily axis
-- (marts.fct_forecast_vs_actual); actual is null after the last day with data.
select
    model_version,
    series,
    metric,
    channel,
    ds,
    is_forecast,
    actual,
    yhat,
    yhat_lower,
    yhat_upper
from marts.fct_forecast_vs_actual
