{#-
    Incremental (delete+insert on account_id, event_id). A run resolves the
    events staged since the newest _loaded_at it holds (less var
    klaviyo__events_reload_overlap_hours, as stg_klaviyo__events reads raw)
    and re-resolves the events a changed lookup entry concerns: the lookups
    of the last run are kept in int_klaviyo__events__lookups
    (macros/lookup_snapshot.sql, macros/klaviyo_lookups.sql). _resolved_at
    says when a row was last (re)resolved; downstream incremental models
    read the rows resolved since their own last run.
-#}
{{
    config(
        materialized='incremental',
        unique_key=['account_id', 'event_id'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[
            {'columns': ['account_id', 'event_id'], 'unique': true},
            {'columns': ['account_id', 'profile_id', 'occurred_at']},
            {'columns': ['account_id', 'campaign_id']},
            {'columns': ['account_id', 'property_message_ref']},
            {'columns': ['_loaded_at']},
            {'columns': ['_resolved_at']},
        ],
        post_hook=[
            "{{ delete_orphans(this, 'account_id', ref('stg_klaviyo__events')) }}",
            "{{ save_lookup_snapshot(this, klaviyo_event_lookups()) }}",
            "{{ refresh_statistics(this, '_resolved_at') }}",
        ]
    )
}}

{%- set snapshot = lookup_snapshot(this) if is_incremental() else none -%}
{%- set watermark = none -%}
{%- if snapshot is not none -%}
    {%- set watermark = load_watermark(
        this, '_loaded_at', var('klaviyo__events_reload_overlap_hours')
    ) -%}
{%- endif %}

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

lookups as (

    {{ klaviyo_event_lookups() }}

),

events as (

    -- every staged event on a full build; on an incremental one the events
    -- staged since the last run and those a changed lookup entry concerns
    {{ klaviyo_events_to_resolve(snapshot, watermark) }}

),

metrics as (

    select
        account_id,
        lookup_key as metric_id,
        lookup_value as metric_name
    from lookups
    where lookup = 'metric'

),

single_message_campaigns as (

    -- a campaign with exactly one message: events that name only the
    -- campaign belong to that message
    select
        account_id,
        lookup_key as campaign_id,
        lookup_value as campaign_message_id
    from lookups
    where lookup = 'single_message'

),

message_campaigns as (

    -- the campaign of each campaign message id ($message may name either)
    select
        account_id,
        lookup_key as campaign_message_id,
        lookup_value as campaign_id
    from lookups
    where lookup = 'message_campaign'

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
        flow_resolved.property_message_ref,
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
        messages.property_message_ref,
        messages._loaded_at,
        {{ dbt.current_timestamp() }} as _resolved_at,
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
