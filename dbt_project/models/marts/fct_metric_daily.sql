-- The daily series the forecasts are trained on and compared with: one row
-- per metric x channel (and 'total') x day that has activity. The
-- contract's primary key (metric, channel, date_day) is its only index.

with

campaign_daily as (

    select * from {{ ref('fct_campaign_daily') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

campaign_totals as (

    select
        date_day,
        coalesce(channel, 'total') as channel,
        sum(revenue) as revenue,
        sum(conversions) as conversions,
        sum(spend) as spend
    from campaign_daily
    group by grouping sets ((date_day, channel), (date_day))

),

campaign_metrics as (

    select
        campaign_totals.date_day,
        campaign_totals.channel,
        metrics.metric,
        metrics.metric_value
    from campaign_totals
    cross join lateral (
        values
        ('revenue', campaign_totals.revenue),
        ('conversions', campaign_totals.conversions),
        ('spend', campaign_totals.spend)
    ) as metrics (metric, metric_value)

),

new_customers as (

    select
        first_order_date as date_day,
        coalesce(acquisition_channel, 'total') as channel,
        'new_customers' as metric,
        count(*) as metric_value
    from customers
    where first_order_date is not null
    group by grouping sets (
        (first_order_date, acquisition_channel), (first_order_date)
    )

),

unioned as (

    select * from campaign_metrics
    union all
    select * from new_customers

),

final as (

    select
        metric,
        channel,
        date_day,
        metric || '|' || channel as series,
        cast(metric_value as {{ dbt.type_numeric() }}) as metric_value
    from unioned

)

select * from final
