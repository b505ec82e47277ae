-- Monthly ROI and acquisition forecast per channel (and 'total'), from the
-- newest forecasts: revenue / spend and spend / new customers are ratios of
-- the month's forecast sums (spend = the spend forecast).

with

planning as (

    select * from {{ ref('stg_ml__planning_forecast') }}

),

final as (

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
    from planning

)

select * from final
