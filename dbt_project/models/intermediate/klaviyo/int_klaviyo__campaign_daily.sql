{{ config(materialized='table') }}

-- Klaviyo campaigns and flows as daily rows of the foundation's campaign
-- grain (same columns as stg_ads__campaign_performance, plus campaign_key),
-- unioned into int_campaign_daily_mapped with source 'klaviyo'. Mapping:
--   source_channel = the message channel, 'email' or 'sms' (mapped through
--                    seed channel_taxonomy like every raw channel name);
--   spend          = 0 (Klaviyo reports no media cost);
--   impressions    = deliveries ("Received Email/SMS" events), on the day of
--                    each profile's first delivery of the message;
--   clicks         = profiles that clicked a message, counted on the day the
--                    message reached them (so clicks <= impressions);
--   conversions    = attributed orders (native or last touch), on the day
--                    of the order;
--   revenue        = attributed revenue ($value of those orders), same day.
-- campaign_key = 'klaviyo:<account>:campaign:<id>' or '...:flow:<id>'.
with

engagement as (

    select * from {{ ref('int_klaviyo__message_engagement') }}

),

attribution as (

    select * from {{ ref('int_klaviyo__event_attribution') }}
    where attributed_message_type is not null

),

campaigns as (

    select * from {{ ref('int_klaviyo__campaigns') }}

),

flows as (

    select * from {{ ref('stg_klaviyo__flows') }}

),

deliveries as (

    select
        account_id,
        message_type,
        coalesce(campaign_id, flow_id) as parent_id,
        channel,
        first_received_on as date_day,
        sum(received_count) as impressions,
        count(*) filter (where click_count > 0) as clicks,
        0 as conversions,
        0 as revenue
    from engagement
    where first_received_on is not null
    group by
        account_id,
        message_type,
        coalesce(campaign_id, flow_id),
        channel,
        first_received_on

),

orders as (

    select
        account_id,
        attributed_message_type as message_type,
        coalesce(attributed_campaign_id, attributed_flow_id) as parent_id,
        attributed_channel as channel,
        converted_on as date_day,
        0 as impressions,
        0 as clicks,
        count(*) as conversions,
        sum(conversion_value) as revenue
    from attribution
    group by
        account_id,
        attributed_message_type,
        coalesce(attributed_campaign_id, attributed_flow_id),
        attributed_channel,
        converted_on

),

unioned as (

    select * from deliveries
    union all
    select * from orders

),

labelled as (

    select
        unioned.account_id,
        unioned.message_type,
        unioned.parent_id,
        unioned.date_day,
        unioned.impressions,
        unioned.clicks,
        unioned.conversions,
        unioned.revenue,
        -- a campaign has one channel; a flow's messages may mix email and sms
        case
            when unioned.message_type = 'campaign' then campaigns.channel
            else coalesce(unioned.channel, 'email')
        end as source_channel,
        coalesce(
            case
                when unioned.message_type = 'campaign'
                    then campaigns.campaign_name
                else flows.flow_name
            end,
            unioned.parent_id
        ) as campaign_name
    from unioned
    left join campaigns
        on
            unioned.message_type = 'campaign'
            and unioned.account_id = campaigns.account_id
            and unioned.parent_id = campaigns.campaign_id
    left join flows
        on
            unioned.message_type = 'flow'
            and unioned.account_id = flows.account_id
            and unioned.parent_id = flows.flow_id

),

daily as (

    select
        account_id,
        message_type,
        parent_id,
        date_day,
        source_channel,
        campaign_name,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(conversions) as conversions,
        sum(revenue) as revenue
    from labelled
    group by
        account_id,
        message_type,
        parent_id,
        date_day,
        source_channel,
        campaign_name

),

final as (

    select
        {{ generate_surrogate_key([
            "'klaviyo'", 'account_id', 'message_type', 'parent_id',
            'date_day', 'source_channel',
        ]) }} as campaign_performance_key,
        date_day,
        parent_id as campaign_id,
        campaign_name,
        source_channel,
        cast(0 as {{ type_money() }}) as spend,
        cast(impressions as {{ dbt.type_bigint() }}) as impressions,
        cast(clicks as {{ dbt.type_bigint() }}) as clicks,
        cast(conversions as {{ type_money() }}) as conversions,
        cast(revenue as {{ type_money() }}) as revenue,
        cast(null as text) as currency_code,
        'klaviyo:' || account_id || ':' || message_type || ':' || parent_id
            as campaign_key,
        'klaviyo_' || message_type as campaign_key_source,
        account_id as klaviyo_account_id,
        message_type as klaviyo_message_type
    from daily

)

select * from final
