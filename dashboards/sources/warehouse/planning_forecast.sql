-- Monthly revenue, spend, ROI and acquisition forecast per channel and 'total'
-- (marts.fct_planning_forecast); the first and last months of the horizon are partial.
select
    model_version,
    forecast_month,
    channel,
    forecast_revenue,
    forecast_spend,
    forecast_roas,
    forecast_roi,
    forecast_new_customers,
    forecast_cac
from marts.fct_planning_forecast
