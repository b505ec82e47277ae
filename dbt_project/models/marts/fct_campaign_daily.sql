{{
    config(
        indexes=[
            {'columns': ['date_day']},
            {'columns': ['campaign_key']},
            {'columns': ['channel', 'date_day']},
        ]
    )
}}

with

campaign_daily as (

    select * from {{ ref('int_campaign_daily_mapped') }}

),

campaigns as (

    select * from {{ ref('int_campaigns') }}

),

aggregated as (

    -- several raw spellings of one channel ("Google Ads", "google") for the
    -- same campaign and day add up to one row of the mapped channel
    select
        date_day,
        campaign_key,
        channel,
        channel_group,
        is_paid,
        source,
        string_agg(
            distinct source_channel, ', ' order by source_channel
        ) as source_channels,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(conversions) as conversions,
        sum(revenue) as revenue
    from campaign_daily
    group by date_day, campaign_key, channel, channel_group, is_paid, source

),

final as (

    select
        aggregated.date_day,
        aggregated.campaign_key,
        campaigns.campaign_id,
        campaigns.campaign_name,
        aggregated.channel,
        aggregated.channel_group,
        aggregated.is_paid,
        aggregated.source,
        aggregated.source_channels,
        {{ marketing_measures('aggregated') }}
    from aggregated
    inner join campaigns
        on aggregated.campaign_key = campaigns.campaign_key

)

select * from final
