{{
    config(
        indexes=[
            {'columns': ['channel', 'send_time']},
        ]
    )
}}

with

campaigns as (

    select * from {{ ref('int_klaviyo__campaigns') }}

),

engagement as (

    select * from {{ ref('int_klaviyo__message_engagement') }}
    where message_type = 'campaign'

),

aggregated as (

    select
        account_id,
        campaign_id,
        {{ klaviyo_message_measures() }}
    from engagement
    group by account_id, campaign_id

),

final as (

    select
        campaigns.account_id,
        campaigns.campaign_id,
        'klaviyo:' || campaigns.account_id || ':campaign:'
        || campaigns.campaign_id as campaign_key,
        campaigns.campaign_name,
        campaigns.channel,
        campaigns.campaign_status,
        campaigns.send_time,
        coalesce(campaigns.is_archived, false) as is_archived,
        campaigns.is_in_campaigns_stream,
        {{ klaviyo_message_metrics('aggregated') }}
    from campaigns
    left join aggregated
        on
            campaigns.account_id = aggregated.account_id
            and campaigns.campaign_id = aggregated.campaign_id

)

select * from final
