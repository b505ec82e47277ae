{#-
    Incremental, profile by profile (macros/klaviyo_incremental.sql): the
    pre-hook deletes the rows of the profiles with events resolved or
    conversions attributed since the last run, the model inserts them anew
    (append: the unique index refuses a duplicate).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        indexes=[
            {'columns': ['message_engagement_key'], 'unique': true},
            {'columns': ['account_id', 'message_type', 'campaign_id']},
            {'columns': ['account_id', 'message_type', 'flow_id']},
            {'columns': ['account_id', 'profile_id']},
            {'columns': ['_resolved_at']},
        ],
        pre_hook=["{{ klaviyo_replace_engagement_profiles(this) }}"],
        post_hook=[
            "{{ delete_orphans(this, 'account_id', ref('int_klaviyo__events')) }}",
            "{{ refresh_statistics(this, '_resolved_at') }}",
        ]
    )
}}

-- What each profile did with each message. Grain: account x message
-- (campaign + campaign message, or flow + flow message) x variation x
-- profile. Engagement counts come from the message's events, attributed
-- orders and revenue from int_klaviyo__event_attribution (native or last
-- touch). first_received_at is the profile's first delivery of the
-- message (null when no "Received ..." event was seen).
with

profile_events as (

    -- every event; on an incremental run those of the profiles to recompute
    {{ klaviyo_engagement_rows(this, 'int_klaviyo__events') }}

),

profile_attribution as (

    {{ klaviyo_engagement_rows(this, 'int_klaviyo__event_attribution') }}

),

events as (

    select * from profile_events
    where message_type is not null and event_kind <> 'conversion'

),

attribution as (

    select * from profile_attribution
    where attributed_message_type is not null

),

unioned as (

    select
        account_id,
        message_type,
        campaign_id,
        campaign_message_id,
        flow_id,
        flow_message_id,
        variation_id,
        profile_id,
        event_kind,
        event_channel as channel,
        occurred_at,
        cast(0 as {{ type_money() }}) as attributed_revenue
    from events
    union all
    select
        account_id,
        attributed_message_type as message_type,
        attributed_campaign_id as campaign_id,
        attributed_campaign_message_id as campaign_message_id,
        attributed_flow_id as flow_id,
        attributed_flow_message_id as flow_message_id,
        attributed_variation_id as variation_id,
        profile_id,
        'attributed_conversion' as event_kind,
        attributed_channel as channel,
        converted_at as occurred_at,
        conversion_value as attributed_revenue
    from attribution

),

aggregated as (

    select
        account_id,
        message_type,
        campaign_id,
        campaign_message_id,
        flow_id,
        flow_message_id,
        variation_id,
        profile_id,
        mode() within group (order by channel) as channel,
        count(*) filter (where event_kind = 'received') as received_count,
        count(*) filter (where event_kind = 'bounced') as bounced_count,
        count(*) filter (where event_kind = 'failed') as failed_count,
        count(*) filter (where event_kind = 'opened') as open_count,
        count(*) filter (where event_kind = 'clicked') as click_count,
        count(*) filter (where event_kind = 'unsubscribed')
            as unsubscribe_count,
        count(*) filter (where event_kind = 'spam_complaint')
            as spam_complaint_count,
        count(*) filter (where event_kind = 'attributed_conversion')
            as attributed_order_count,
        sum(attributed_revenue) as attributed_revenue,
        min(occurred_at) filter (where event_kind = 'received')
            as first_received_at,
        min(occurred_at) as first_event_at
    from unioned
    group by
        account_id,
        message_type,
        campaign_id,
        campaign_message_id,
        flow_id,
        flow_message_id,
        variation_id,
        profile_id

),

final as (

    select
        {{ generate_surrogate_key([
            'account_id', 'message_type', 'campaign_id',
            'campaign_message_id', 'flow_id', 'flow_message_id',
            'variation_id', 'profile_id',
        ]) }} as message_engagement_key,
        account_id,
        message_type,
        campaign_id,
        campaign_message_id,
        flow_id,
        flow_message_id,
        variation_id,
        profile_id,
        channel,
        cast(received_count as integer) as received_count,
        cast(bounced_count as integer) as bounced_count,
        cast(failed_count as integer) as failed_count,
        cast(open_count as integer) as open_count,
        cast(click_count as integer) as click_count,
        cast(unsubscribe_count as integer) as unsubscribe_count,
        cast(spam_complaint_count as integer) as spam_complaint_count,
        cast(attributed_order_count as integer) as attributed_order_count,
        cast(attributed_revenue as {{ type_money() }}) as attributed_revenue,
        first_received_at,
        first_event_at,
        cast(
            first_received_at at time zone '{{ var("klaviyo__timezone") }}'
            as date
        ) as first_received_on,
        {{ dbt.current_timestamp() }} as _resolved_at
    from aggregated

)

select * from final
