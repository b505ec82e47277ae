with

campaign_performance as (

    select * from {{ ref('stg_ads__campaign_performance') }}

),

channel_taxonomy as (

    select * from {{ ref('channel_taxonomy') }}

),

mapped as (

    select
        campaign_performance.campaign_performance_key,
        campaign_performance.date_day,
        campaign_performance.campaign_id,
        campaign_performance.campaign_name,
        campaign_performance.source_channel,
        channel_taxonomy.is_paid,
        campaign_performance.spend,
        campaign_performance.impressions,
        campaign_performance.clicks,
        campaign_performance.conversions,
        campaign_performance.revenue,
        campaign_performance.currency_code,
        campaign_performance._file_id,
        campaign_performance._line_number,
        campaign_performance._loaded_at,
        coalesce(channel_taxonomy.channel, 'unmapped') as channel,
        coalesce(channel_taxonomy.channel_group, 'unmapped') as channel_group,
        channel_taxonomy.channel is not null as is_channel_mapped
    from campaign_performance
    left join channel_taxonomy
        on lower(campaign_performance.source_channel)
            = channel_taxonomy.source_channel

),

keyed as (

    -- campaign_key: the platform campaign_id when the row has one, else a
    -- hash of the lower-cased campaign name and the mapped channel (so raw
    -- spellings of one channel, "fb" and "Facebook Ads", are one campaign)
    select
        *,
        coalesce(
            campaign_id,
            {{ generate_surrogate_key(['lower(campaign_name)', 'channel']) }}
        ) as campaign_key,
        case
            when campaign_id is not null then 'campaign_id'
            else 'campaign_name_and_channel'
        end as campaign_key_source
    from mapped

)

select * from keyed
