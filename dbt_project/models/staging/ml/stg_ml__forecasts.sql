with

source as (

    select * from {{ source('ml', 'forecasts') }}

),

newest as (

    select
        series,
        ds as forecast_date,
        yhat,
        yhat_lower,
        yhat_upper,
        model_version,
        split_part(series, '|', 1) as metric,
        split_part(series, '|', 2) as channel
    from source
    where
        model_version = {{ newest_model_version('prophet_forecasts') }}

)

select * from newest
