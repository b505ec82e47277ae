-- Spend, clicks and revenue must add up to the same totals in staging, in
-- fct_campaign_daily, in fct_campaign_performance and at every grain of
-- fct_channel_performance: nothing is lost or double-counted on the way.
-- Staging is the CSV rows plus the Klaviyo daily rows, less the clicks and
-- revenue of the CSV rows the Klaviyo rows supersede (their spend stays;
-- see int_campaign_daily_mapped).
{{ config(meta={'dagster': {'ref': {'name': 'fct_channel_performance'}}}) }}

with

superseded as (

    select campaign_performance_key
    from {{ ref('int_campaign_daily_mapped') }}
    where is_superseded_by_klaviyo

),

staged_rows as (

    select
        stg.spend,
        case
            when superseded.campaign_performance_key is null then stg.clicks
            else 0
        end as clicks,
        case
            when superseded.campaign_performance_key is null then stg.revenue
            else 0
        end as revenue
    from {{ ref('stg_ads__campaign_performance') }} as stg
    left join superseded
        on stg.campaign_performance_key = superseded.campaign_performance_key

    union all

    select
        spend,
        clicks,
        revenue
    from {{ ref('int_klaviyo__campaign_daily') }}

),

staged as (

    select
        'staging' as layer,
        sum(spend) as spend,
        sum(clicks) as clicks,
        sum(revenue) as revenue
    from staged_rows

),

layers as (

    select
        'fct_campaign_daily' as layer,
        sum(spend) as spend,
        sum(clicks) as clicks,
        sum(revenue) as revenue
    from {{ ref('fct_campaign_daily') }}

    union all

    select
        'fct_campaign_performance' as layer,
        sum(spend) as spend,
        sum(clicks) as clicks,
        sum(revenue) as revenue
    from {{ ref('fct_campaign_performance') }}

    union all

    select
        'fct_channel_performance/' || grain as layer,
        sum(spend) as spend,
        sum(clicks) as clicks,
        sum(revenue) as revenue
    from {{ ref('fct_channel_performance') }}
    group by grain

)

select
    layers.layer,
    layers.spend,
    staged.spend as staged_spend,
    layers.clicks,
    staged.clicks as staged_clicks,
    layers.revenue,
    staged.revenue as staged_revenue
from layers
cross join staged
where
    layers.spend is distinct from staged.spend
    or layers.clicks is distinct from staged.clicks
    or layers.revenue is distinct from staged.revenue
