{{
    config(
        indexes=[
            {'columns': ['channel']},
            {'columns': ['last_active_date']},
        ]
    )
}}

with

campaign_daily as (

    select * from {{ ref('fct_campaign_daily') }}

),

campaigns as (

    select * from {{ ref('int_campaigns') }}

),

aggregated as (

    select
        campaign_key,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(conversions) as conversions,
        sum(revenue) as revenue,
        min(date_day) as first_active_date,
        max(date_day) as last_active_date,
        count(distinct date_day) as active_days
    from campaign_daily
    group by campaign_key

),

final as (

    select
        campaigns.campaign_key,
        campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.campaign_key_source,
        campaigns.source,
        campaigns.channel,
        campaigns.channel_group,
        campaigns.is_paid,
        cast(campaigns.channel_count as integer) as channel_count,
        aggregated.first_active_date,
        aggregated.last_active_date,
        cast(aggregated.active_days as integer) as active_days,
        {{ marketing_measures('aggregated') }}
    from aggregated
    inner join campaigns
        on aggregated.campaign_key = campaigns.campaign_key

)

select * from final
