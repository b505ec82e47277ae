{#-
    The lookups int_klaviyo__events resolves events with, one row per entry
    (macros/lookup_snapshot.sql): 'metric' metric_id -> metric name (for an
    event without an included metric), 'message_campaign' campaign message
    id -> its campaign ($message may name either), 'single_message'
    campaign id -> the campaign's only message (events that name only the
    campaign belong to it).
-#}
{% macro klaviyo_event_lookups() -%}
    select
        'metric' as lookup,
        account_id,
        metric_id as lookup_key,
        metric_name as lookup_value
    from {{ ref('stg_klaviyo__metrics') }}
    union all
    select
        'message_campaign' as lookup,
        account_id,
        campaign_message_id as lookup_key,
        min(campaign_id) as lookup_value
    from {{ ref('stg_klaviyo__campaign_messages') }}
    where campaign_message_id is not null
    group by account_id, campaign_message_id
    union all
    select
        'single_message' as lookup,
        account_id,
        campaign_id as lookup_key,
        min(campaign_message_id) as lookup_value
    from {{ ref('stg_klaviyo__campaign_messages') }}
    where campaign_message_id is not null
    group by account_id, campaign_id
    having count(distinct campaign_message_id) = 1
{%- endmacro %}


{#-
    The lookups int_klaviyo__event_attribution resolves channels with:
    'campaign' campaign id -> its channel (int_klaviyo__campaigns),
    'flow_message' flow id + flow message id -> the channel most of its
    engagement events speak of.
-#}
{% macro klaviyo_attribution_lookups() -%}
    select
        'campaign' as lookup,
        account_id,
        campaign_id as lookup_key,
        cast(null as {{ dbt.type_string() }}) as lookup_subkey,
        channel as lookup_value
    from {{ ref('int_klaviyo__campaigns') }}
    union all
    select
        'flow_message' as lookup,
        account_id,
        flow_id as lookup_key,
        flow_message_id as lookup_subkey,
        mode() within group (order by event_channel) as lookup_value
    from {{ ref('int_klaviyo__events') }}
    where
        message_type = 'flow'
        and event_kind <> 'conversion'
        and event_channel is not null
    group by account_id, flow_id, flow_message_id
{%- endmacro %}
