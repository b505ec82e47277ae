{#-
    Incremental (delete+insert on account_id, conversion_event_id): a run
    recomputes the conversions of the profiles with events resolved since
    its last run (int_klaviyo__events._resolved_at, less var
    klaviyo__resolve_overlap_minutes), of conversions whose touch event
    was re-resolved, and of conversions credited to a campaign or flow
    message whose channel changed (lookups kept in
    int_klaviyo__event_attribution__lookups, macros/lookup_snapshot.sql).
-#}
{{
    config(
        materialized='incremental',
        unique_key=['account_id', 'conversion_event_id'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[
            {'columns': ['account_id', 'conversion_event_id'], 'unique': true},
            {'columns': ['account_id', 'attributed_campaign_id']},
            {'columns': ['account_id', 'attributed_flow_id']},
            {'columns': ['account_id', 'touch_event_id']},
            {'columns': ['account_id', 'profile_id']},
            {'columns': ['_resolved_at']},
        ],
        pre_hook=[
            "{{ klaviyo_delete_lapsed_conversions(this) }}",
            "{{ klaviyo_write_attribution_scope(this) }}",
        ],
        post_hook=[
            "{{ delete_orphans(this, 'account_id', ref('int_klaviyo__events')) }}",
            "{{ save_lookup_snapshot(this, klaviyo_attribution_lookups()) }}",
            "{{ refresh_statistics(this, '_resolved_at') }}",
        ]
    )
}}

{%- set snapshot = lookup_snapshot(this) if is_incremental() else none -%}


-- Attribution of each conversion event (metric var klaviyo__conversion_metric,
-- default 'Placed Order'), one row per conversion:
--   1. native: Klaviyo attributed it (included "attribution" resource or
--      $attributed_flow / $attributed_message): that campaign or flow wins;
--   2. last_touch: else the most recent eligible touch (metric in var
--      klaviyo__eligible_attribution_events, carrying a campaign or flow) by
--      the same profile at or before the conversion, within the window of
--      the touch's channel: klaviyo__email_attribution_lookback hours
--      (default 120) for email, klaviyo__sms_attribution_lookback (24) for
--      SMS. The latest email touch and the latest SMS touch are found with
--      window functions over the profile's timeline; the more recent of the
--      two that is inside its own window wins;
--   3. unattributed: neither.
with

channel_lookups as (

    {{ klaviyo_attribution_lookups() }}

),

events as (

    -- every event on a full build; on an incremental one the events of
    -- the conversions to recompute
    {{ klaviyo_attribution_events(snapshot) }}

),

campaigns as (

    select
        account_id,
        lookup_key as campaign_id,
        lookup_value as channel
    from channel_lookups
    where lookup = 'campaign'

),

flow_message_channels as (

    select
        account_id,
        lookup_key as flow_id,
        lookup_subkey as flow_message_id,
        lookup_value as channel
    from channel_lookups
    where lookup = 'flow_message'

),

conversions as (

    -- on an incremental run, the conversions from recompute_from on (the
    -- earlier ones keep their rows)
    select * from events
    where
        event_kind = 'conversion'
        and (recompute_from is null or occurred_at >= recompute_from)

),

touches as (

    select
        account_id,
        event_id,
        profile_id,
        occurred_at,
        metric_name,
        message_type,
        campaign_id,
        campaign_message_id,
        flow_id,
        flow_message_id,
        variation_id,
        coalesce(event_channel, 'email') as touch_channel
    from events
    where is_attribution_touch

),

timeline as (

    -- conversions and touches of each profile; at the same instant a touch
    -- comes first (it can still be credited)
    select
        account_id,
        profile_id,
        event_id,
        occurred_at,
        1 as sort_order,
        cast(null as text) as touch_channel
    from conversions
    where profile_id is not null
    union all
    select
        account_id,
        profile_id,
        event_id,
        occurred_at,
        0 as sort_order,
        touch_channel
    from touches
    where profile_id is not null

),

numbered as (

    -- running count of the profile's email (and SMS) touches: each touch
    -- opens a group that lasts until the next touch of the same channel
    select
        *,
        sum(case when touch_channel = 'email' then 1 else 0 end) over (
            partition by account_id, profile_id
            order by occurred_at asc, sort_order asc, event_id asc
            rows between unbounded preceding and current row
        ) as email_touch_number,
        sum(case when touch_channel = 'sms' then 1 else 0 end) over (
            partition by account_id, profile_id
            order by occurred_at asc, sort_order asc, event_id asc
            rows between unbounded preceding and current row
        ) as sms_touch_number
    from timeline

),

latest_touches as (

    -- the first row of a group is the touch that opened it: the latest email
    -- (SMS) touch at or before every row of the group
    select
        *,
        case
            when email_touch_number > 0
                then first_value(event_id) over (
                        partition by account_id, profile_id, email_touch_number
                        order by occurred_at asc, sort_order asc, event_id asc
                    )
        end as email_touch_event_id,
        case
            when sms_touch_number > 0
                then first_value(event_id) over (
                        partition by account_id, profile_id, sms_touch_number
                        order by occurred_at asc, sort_order asc, event_id asc
                    )
        end as sms_touch_event_id
    from numbered

),

candidates as (

    select
        latest_touches.account_id,
        latest_touches.event_id as conversion_event_id,
        email_touches.event_id as email_touch_event_id,
        email_touches.occurred_at as email_touched_at,
        sms_touches.event_id as sms_touch_event_id,
        sms_touches.occurred_at as sms_touched_at,
        coalesce(
            latest_touches.occurred_at - email_touches.occurred_at
            <= interval '1 hour'
            * {{ var('klaviyo__email_attribution_lookback') }},
            false
        ) as is_email_touch_in_window,
        coalesce(
            latest_touches.occurred_at - sms_touches.occurred_at
            <= interval '1 hour'
            * {{ var('klaviyo__sms_attribution_lookback') }},
            false
        ) as is_sms_touch_in_window
    from latest_touches
    left join touches as email_touches
        on
            latest_touches.account_id = email_touches.account_id
            and latest_touches.email_touch_event_id = email_touches.event_id
    left join touches as sms_touches
        on
            latest_touches.account_id = sms_touches.account_id
            and latest_touches.sms_touch_event_id = sms_touches.event_id
    where latest_touches.sort_order = 1

),

last_touch as (

    select
        account_id,
        conversion_event_id,
        case
            when
                is_email_touch_in_window and is_sms_touch_in_window
                then
                    case
                        when
                            (sms_touched_at, sms_touch_event_id)
                            > (email_touched_at, email_touch_event_id)
                            then sms_touch_event_id
                        else email_touch_event_id
                    end
            when is_email_touch_in_window then email_touch_event_id
            when is_sms_touch_in_window then sms_touch_event_id
        end as touch_event_id
    from candidates

),

attributed as (

    select
        conversions.account_id,
        conversions.event_id as conversion_event_id,
        conversions.profile_id,
        conversions.metric_name as conversion_metric_name,
        conversions.occurred_at as converted_at,
        conversions.occurred_on as converted_on,
        cast(coalesce(conversions.event_value, 0) as {{ type_money() }})
            as conversion_value,
        conversions.currency_code,
        case
            when conversions.message_type is not null then 'native'
            when last_touch.touch_event_id is not null then 'last_touch'
            else 'unattributed'
        end as attribution_type,
        case
            when conversions.message_type is not null
                then conversions.attributed_event_id
            else last_touch.touch_event_id
        end as touch_event_id,
        coalesce(conversions.message_type, touches.message_type)
            as attributed_message_type,
        case
            when conversions.message_type is not null
                then conversions.campaign_id
            else touches.campaign_id
        end as attributed_campaign_id,
        case
            when conversions.message_type is not null
                then conversions.campaign_message_id
            else touches.campaign_message_id
        end as attributed_campaign_message_id,
        case
            when conversions.message_type is not null
                then conversions.flow_id
            else touches.flow_id
        end as attributed_flow_id,
        case
            when conversions.message_type is not null
                then conversions.flow_message_id
            else touches.flow_message_id
        end as attributed_flow_message_id,
        case
            when conversions.message_type is not null
                then conversions.variation_id
            else touches.variation_id
        end as attributed_variation_id
    from conversions
    left join last_touch
        on
            conversions.account_id = last_touch.account_id
            and conversions.event_id = last_touch.conversion_event_id
    left join touches
        on
            last_touch.account_id = touches.account_id
            and last_touch.touch_event_id = touches.event_id

),

final as (

    select
        attributed.*,
        touch_events.metric_name as touch_metric_name,
        touch_events.occurred_at as touched_at,
        cast(
            extract(
                epoch from attributed.converted_at - touch_events.occurred_at
            )
            / 3600.0 as {{ dbt.type_numeric() }}
        ) as hours_since_touch,
        case
            when attributed.attributed_message_type is not null
                then coalesce(
                        touch_events.event_channel,
                        campaigns.channel,
                        flow_message_channels.channel,
                        'email'
                    )
        end as attributed_channel,
        {{ dbt.current_timestamp() }} as _resolved_at
    from attributed
    left join {{ ref('int_klaviyo__events') }} as touch_events
        on
            attributed.account_id = touch_events.account_id
            and attributed.touch_event_id = touch_events.event_id
    left join campaigns
        on
            attributed.account_id = campaigns.account_id
            and attributed.attributed_campaign_id = campaigns.campaign_id
    left join flow_message_channels
        on
            attributed.account_id = flow_message_channels.account_id
            and attributed.attributed_flow_id = flow_message_channels.flow_id
            and attributed.attributed_flow_message_id
            is not distinct from flow_message_channels.flow_message_id

)

select * from final
