-- Spend, clicks and revenue must add up to the same totals in staging, in
-- fct_campaign_daily, in fct_campaign_performance and at every grain of
-- fct_channel_performance: nothing is lost or double-counted on the way.
{{ config(meta={'dagster': {'ref': {'name': 'fct_channel_performance'}}}) }}

with

staged as (

    select
        'stg_ads__campaign_performance' as layer,
        sum(spend) as spend,
        sum(clicks) as clicks,
        sum(revenue) as revenue
    from {{ ref('stg_ads__campaign_performance') }}

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
