-- Backtest of the newest forecasts: Prophet and the seasonal-naive baseline
-- per series (rolling origin), so a reader sees where the model earns its keep.

with

backtest as (

    select * from {{ ref('stg_ml__forecast_backtest') }}

),

final as (

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
    from backtest

)

select * from final
