-- Every Klaviyo event with its metric name, kind and channel, and the
-- message it belongs to. For an engagement event (received, opened,
-- clicked, ...) the message ids say which campaign or flow message it is
-- about; for a conversion event they are Klaviyo's native attribution (empty
-- when Klaviyo did not attribute it). Ids come from the included
-- "attribution" resource first, else from the event properties: $flow and
-- $message (engagement) or $attributed_flow and $attributed_message
-- (conversion); for a flow $message is the flow message id, for a campaign
-- it may be the campaign message id (looked up in the campaigns' messages)
-- or the campaign id.
with

events as (

    select * from {{ ref('stg_klaviyo__events') }}

),

metrics as (

    select * from {{ ref('stg_klaviyo__metrics') }}

),

campaign_messages as (

    select * from {{ ref('stg_klaviyo__campaign_messages') }}

),

single_message_campaigns as (

    -- a campaign with exactly one message: events that name only the
    -- campaign belong to that message
    select
        account_id,
        campaign_id,
        min(campaign_message_id) as campaign_message_id
    from campaign_messages
    where campaign_message_id is not null
    group by account_id, campaign_id
    having count(distinct campaign_message_id) = 1

),

message_campaigns as (

    -- the campaign of each campaign message id ($message may name either)
    select
        account_id,
        campaign_message_id,
        min(campaign_id) as campaign_id
    from campaign_messages
    where campaign_message_id is not null
    group by account_id, campaign_message_id

),

named as (

    select
        events.account_id,
        events.event_id,
        events.profile_id,
        events.metric_id,
        events.occurred_at,
        events.event_value,
        events.item_count,
        events.property_event_id,
        events.currency_code,
        events.attributed_event_id,
        events.attributed_campaign_id,
        events.attributed_campaign_message_id,
        events.attributed_flow_id,
        events.attributed_flow_message_id,
        events.attributed_flow_message_variation_id,
        events.property_message_id,
        events.property_flow_id,
        events.property_variation_id,
        events.property_attributed_message_id,
        events.property_attributed_flow_id,
        events._loaded_at,
        coalesce(events.metric_name, metrics.metric_name) as metric_name
    from events
    left join metrics
        on
            events.account_id = metrics.account_id
            and events.metric_id = metrics.metric_id

),

classified as (

    select
        *,
        {{ klaviyo_metric_kind('metric_name') }} as event_kind,
        {{ klaviyo_metric_channel('metric_name') }} as event_channel
    from named

),

flow_resolved as (

    select
        *,
        coalesce(
            attributed_flow_id,
            case
                when event_kind = 'conversion' then property_attributed_flow_id
                else property_flow_id
            end
        ) as flow_id,
        case
            when event_kind = 'conversion' then property_attributed_message_id
            else property_message_id
        end as property_message_ref
    from classified

),

messages as (

    select
        flow_resolved.account_id,
        flow_resolved.event_id,
        flow_resolved.profile_id,
        flow_resolved.metric_id,
        flow_resolved.metric_name,
        flow_resolved.event_kind,
        flow_resolved.event_channel,
        flow_resolved.occurred_at,
        flow_resolved.event_value,
        flow_resolved.item_count,
        flow_resolved.property_event_id,
        flow_resolved.currency_code,
        flow_resolved.flow_id,
        flow_resolved._loaded_at,
        case
            when flow_resolved.flow_id is null
                then coalesce(
                        flow_resolved.attributed_campaign_message_id,
                        message_campaigns.campaign_message_id
                    )
        end as attributed_campaign_message_id,
        case
            when flow_resolved.flow_id is not null
                then coalesce(
                        flow_resolved.attributed_flow_message_id,
                        flow_resolved.property_message_ref
                    )
        end as flow_message_id,
        case
            when flow_resolved.flow_id is null
                then coalesce(
                        flow_resolved.attributed_campaign_id,
                        message_campaigns.campaign_id,
                        flow_resolved.property_message_ref
                    )
        end as campaign_id,
        coalesce(
            case
                when flow_resolved.event_kind <> 'conversion'
                    then flow_resolved.property_variation_id
            end,
            flow_resolved.attributed_flow_message_variation_id
        ) as variation_id,
        case
            when flow_resolved.event_kind = 'conversion'
                then flow_resolved.attributed_event_id
        end as attributed_event_id
    from flow_resolved
    left join message_campaigns
        on
            flow_resolved.account_id = message_campaigns.account_id
            and flow_resolved.property_message_ref
            = message_campaigns.campaign_message_id

),

final as (

    select
        messages.account_id,
        messages.event_id,
        messages.profile_id,
        messages.metric_id,
        messages.metric_name,
        messages.event_kind,
        messages.event_channel,
        messages.occurred_at,
        messages.event_value,
        messages.item_count,
        messages.property_event_id,
        messages.currency_code,
        messages.flow_id,
        messages.flow_message_id,
        messages.campaign_id,
        messages.variation_id,
        messages.attributed_event_id,
        messages._loaded_at,
        cast(
            messages.occurred_at
            at time zone '{{ var("klaviyo__timezone") }}' as date
        ) as occurred_on,
        case
            when messages.flow_id is not null then 'flow'
            when messages.campaign_id is not null then 'campaign'
        end as message_type,
        case
            when messages.campaign_id is not null
                then coalesce(
                        messages.attributed_campaign_message_id,
                        single_message_campaigns.campaign_message_id
                    )
        end as campaign_message_id,
        coalesce(
            messages.metric_name in {{
                klaviyo_sql_list(var('klaviyo__eligible_attribution_events'))
            }},
            false
        )
        and messages.event_kind <> 'conversion'
        and (
            messages.flow_id is not null or messages.campaign_id is not null
        ) as is_attribution_touch
    from messages
    left join single_message_campaigns
        on
            messages.account_id = single_message_campaigns.account_id
            and messages.campaign_id = single_message_campaigns.campaign_id

)

select * from final
