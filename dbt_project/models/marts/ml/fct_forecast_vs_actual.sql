-- Actuals and the newest forecast of every series on one daily axis: the
-- history (0 on days without activity), then the forecast horizon with its
-- interval; where actuals arrive after training, both sit on the same row.

with

forecasts as (

    select * from {{ ref('stg_ml__forecasts') }}

),

metric_daily as (

    select * from {{ ref('fct_metric_daily') }}

),

forecast_series as (

    select distinct
        series,
        metric,
        channel,
        model_version
    from forecasts

),

metric_last_day as (

    select
        metric,
        max(date_day) as last_day
    from metric_daily
    group by metric

),

series_span as (

    select
        forecast_series.series,
        min(metric_daily.date_day) as first_day,
        max(metric_last_day.last_day) as last_day
    from forecast_series
    inner join metric_daily
        on forecast_series.series = metric_daily.series
    inner join metric_last_day
        on forecast_series.metric = metric_last_day.metric
    group by forecast_series.series

),

actual_days as (

    select
        series_span.series,
        cast(spine.spine_day as date) as ds,
        coalesce(metric_daily.metric_value, 0) as actual
    from series_span
    cross join
        lateral generate_series(
            series_span.first_day, series_span.last_day, interval '1 day'
        ) as spine (spine_day)
    left join metric_daily
        on
            series_span.series = metric_daily.series
            and cast(spine.spine_day as date) = metric_daily.date_day

),

joined as (

    select
        forecast_series.model_version,
        forecast_series.series,
        forecast_series.metric,
        forecast_series.channel,
        actual_days.actual,
        forecasts.yhat,
        forecasts.yhat_lower,
        forecasts.yhat_upper,
        coalesce(actual_days.ds, forecasts.forecast_date) as ds,
        forecasts.forecast_date is not null as is_forecast
    from actual_days
    full outer join forecasts
        on
            actual_days.series = forecasts.series
            and actual_days.ds = forecasts.forecast_date
    inner join forecast_series
        on
            coalesce(actual_days.series, forecasts.series)
            = forecast_series.series

),

final as (

    select
        model_version,
        series,
        metric,
        channel,
        ds,
        is_forecast,
        cast(actual as {{ dbt.type_numeric() }}) as actual,
        cast(yhat as double precision) as yhat,
        cast(yhat_lower as double precision) as yhat_lower,
        cast(yhat_upper as double precision) as yhat_upper
    from joined

)

select * from final
