{{ config(materialized='table') }}

with

campaign_performance as (

    select * from {{ ref('stg_ads__campaign_performance') }}

),

klaviyo_daily as (

    select * from {{ ref('int_klaviyo__campaign_daily') }}

),

channel_taxonomy as (

    select * from {{ ref('channel_taxonomy') }}

),

unioned as (

    -- the ad-platform CSV rows (source 'ads') and the daily rows computed
    -- from the Klaviyo API (source 'klaviyo'; none when Klaviyo is not used)
    select
        campaign_performance_key,
        date_day,
        campaign_id,
        campaign_name,
        source_channel,
        spend,
        impressions,
        clicks,
        conversions,
        revenue,
        currency_code,
        _file_id,
        _line_number,
        _loaded_at,
        'ads' as source,  -- noqa: RF04
        cast(null as text) as source_campaign_key,
        cast(null as text) as source_campaign_key_source
    from campaign_performance
    union all
    select
        campaign_performance_key,
        date_day,
        campaign_id,
        campaign_name,
        source_channel,
        spend,
        impressions,
        clicks,
        conversions,
        revenue,
        currency_code,
        cast(null as bigint) as _file_id,
        cast(null as bigint) as _line_number,
        cast(null as timestamptz) as _loaded_at,
        'klaviyo' as source,  -- noqa: RF04
        campaign_key as source_campaign_key,
        campaign_key_source as source_campaign_key_source
    from klaviyo_daily

),

mapped as (

    select
        unioned.campaign_performance_key,
        unioned.date_day,
        unioned.campaign_id,
        unioned.campaign_name,
        unioned.source_channel,
        unioned.source,
        unioned.source_campaign_key,
        unioned.source_campaign_key_source,
        channel_taxonomy.is_paid,
        unioned.spend,
        unioned.impressions,
        unioned.clicks,
        unioned.conversions,
        unioned.revenue,
        unioned.currency_code,
        unioned._file_id,
        unioned._line_number,
        unioned._loaded_at,
        coalesce(channel_taxonomy.channel, 'unmapped') as channel,
        coalesce(channel_taxonomy.channel_group, 'unmapped') as channel_group,
        channel_taxonomy.channel is not null as is_channel_mapped
    from unioned
    left join channel_taxonomy
        on
            lower(unioned.source_channel)
            = channel_taxonomy.source_channel

),

klaviyo_coverage as (

    -- the days the Klaviyo API covers, per mapped channel (first to last day
    -- with a Klaviyo row); only channels in var klaviyo__replaces_channels
    select
        channel,
        min(date_day) as first_day,
        max(date_day) as last_day
    from mapped
    where
        source = 'klaviyo'
        and channel in {{ klaviyo_sql_list(var('klaviyo__replaces_channels')) }}
    group by channel

),

flagged as (

    select
        mapped.*,
        coalesce(
            mapped.source = 'ads'
            and mapped.date_day
            between klaviyo_coverage.first_day and klaviyo_coverage.last_day,
            false
        ) as is_superseded_by_klaviyo
    from mapped
    left join klaviyo_coverage
        on mapped.channel = klaviyo_coverage.channel

),

without_double_counting as (

    -- no double counting: on a day Klaviyo covers, a CSV row of the same
    -- channel keeps its spend (Klaviyo reports none) but its impressions,
    -- clicks, conversions and revenue become 0: the Klaviyo rows report them
    select
        campaign_performance_key,
        date_day,
        campaign_id,
        campaign_name,
        source_channel,
        source,
        source_campaign_key,
        source_campaign_key_source,
        is_paid,
        spend,
        currency_code,
        _file_id,
        _line_number,
        _loaded_at,
        channel,
        channel_group,
        is_channel_mapped,
        is_superseded_by_klaviyo,
        case
            when is_superseded_by_klaviyo then 0 else impressions
        end as impressions,
        case when is_superseded_by_klaviyo then 0 else clicks end as clicks,
        cast(
            case when is_superseded_by_klaviyo then 0 else conversions end
            as {{ type_money() }}
        ) as conversions,
        cast(
            case when is_superseded_by_klaviyo then 0 else revenue end
            as {{ type_money() }}
        ) as revenue
    from flagged

),

keyed as (

    -- campaign_key: for Klaviyo rows 'klaviyo:<account>:<campaign|flow>:<id>';
    -- else the platform campaign_id when the row has one, else a hash of the
    -- lower-cased campaign name and the mapped channel (so raw spellings of
    -- one channel, "fb" and "Facebook Ads", are one campaign)
    select
        *,
        coalesce(
            source_campaign_key,
            campaign_id,
            {{ generate_surrogate_key(['lower(campaign_name)', 'channel']) }}
        ) as campaign_key,
        case
            when source_campaign_key is not null
                then source_campaign_key_source
            when campaign_id is not null then 'campaign_id'
            else 'campaign_name_and_channel'
        end as campaign_key_source
    from without_double_counting

)

select * from keyed
