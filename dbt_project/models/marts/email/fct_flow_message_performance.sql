{{
    config(
        indexes=[
            {'columns': ['account_id', 'flow_id']},
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
        flow_message_id,
        variation_id,
        mode() within group (order by channel) as channel,
        {{ klaviyo_message_measures() }}
    from engagement
    group by account_id, flow_id, flow_message_id, variation_id

),

final as (

    select
        {{ generate_surrogate_key([
            'aggregated.account_id', 'aggregated.flow_id',
            'aggregated.flow_message_id', 'aggregated.variation_id',
        ]) }} as flow_message_key,
        aggregated.account_id,
        aggregated.flow_id,
        aggregated.flow_message_id,
        aggregated.variation_id,
        flows.flow_name,
        coalesce(aggregated.channel, 'email') as channel,
        {{ klaviyo_message_metrics('aggregated') }}
    from aggregated
    left join flows
        on
            aggregated.account_id = flows.account_id
            and aggregated.flow_id = flows.flow_id

)

select * from final
