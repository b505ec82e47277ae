{{
    config(
        indexes=[
            {'columns': ['flow_status']},
        ]
    )
}}

with

flows as (

    select * from {{ ref('stg_klaviyo__flows') }}

),

engagement as (

    select * from {{ ref('int_klaviyo__message_engagement') }}
    where message_type = 'flow'

),

aggregated as (

    select
        account_id,
        flow_id,
        string_agg(distinct channel, ', ' order by channel) as channels,
        count(distinct flow_message_id) as flow_messages,
        {{ klaviyo_message_measures() }}
    from engagement
    group by account_id, flow_id

),

flow_keys as (

    -- the flows stream, plus flow ids that only events mention
    select
        account_id,
        flow_id
    from flows
    union
    select
        account_id,
        flow_id
    from aggregated

),

final as (

    select
        flow_keys.account_id,
        flow_keys.flow_id,
        'klaviyo:' || flow_keys.account_id || ':flow:'
        || flow_keys.flow_id as campaign_key,
        flows.flow_name,
        flows.flow_status,
        flows.trigger_type,
        coalesce(flows.is_archived, false) as is_archived,
        flows.flow_id is not null as is_in_flows_stream,
        aggregated.channels,
        cast(coalesce(aggregated.flow_messages, 0) as integer)
            as flow_messages,
        {{ klaviyo_message_metrics('aggregated') }}
    from flow_keys
    left join flows
        on
            flow_keys.account_id = flows.account_id
            and flow_keys.flow_id = flows.flow_id
    left join aggregated
        on
            flow_keys.account_id = aggregated.account_id
            and flow_keys.flow_id = aggregated.flow_id

)

select * from final
