with

source as (

    select * from {{ source('ml', 'forecast_backtest') }}

),

newest as (

    select
        series,
        model,
        folds,
        mape,
        smape,
        mase,
        baseline_mase,
        worse_than_baseline,
        model_version,
        split_part(series, '|', 1) as metric,
        split_part(series, '|', 2) as channel
    from source
    where
        model_version = {{ newest_model_version('prophet_forecasts') }}

)

select * from newest
