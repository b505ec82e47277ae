with

source as (

    select * from {{ source('ml', 'planning_forecast') }}

),

newest as (

    select
        month as forecast_month,
        channel,
        revenue as forecast_revenue,
        spend as forecast_spend,
        roas as forecast_roas,
        roi as forecast_roi,
        new_customers as forecast_new_customers,
        cac as forecast_cac,
        model_version
    from source
    where
        model_version = {{ newest_model_version('prophet_forecasts') }}

)

select * from newest
