{{
    config(
        indexes=[
            {'columns': ['account_id', 'campaign_id']},
        ]
    )
}}

with

campaigns as (

    select * from {{ ref('int_klaviyo__campaigns') }}

),

campaign_messages as (

    select * from {{ ref('stg_klaviyo__campaign_messages') }}

),

engagement as (

    select * from {{ ref('int_klaviyo__message_engagement') }}
    where message_type = 'campaign'

),

aggregated as (

    select
        account_id,
        campaign_id,
        campaign_message_id,
        variation_id,
        {{ klaviyo_message_measures() }}
    from engagement
    group by account_id, campaign_id, campaign_message_id, variation_id

),

engaged_messages as (

    select distinct
        account_id,
        campaign_id,
        campaign_message_id
    from aggregated

),

listed_without_engagement as (

    -- messages of the campaigns stream that no event mentions: zero rows
    select
        campaign_messages.account_id,
        campaign_messages.campaign_id,
        campaign_messages.campaign_message_id,
        cast(null as text) as variation_id
    from campaign_messages
    left join engaged_messages
        on
            campaign_messages.account_id = engaged_messages.account_id
            and campaign_messages.campaign_id = engaged_messages.campaign_id
            and campaign_messages.campaign_message_id
            = engaged_messages.campaign_message_id
    where engaged_messages.campaign_message_id is null

),

message_keys as (

    select
        account_id,
        campaign_id,
        campaign_message_id,
        variation_id
    from aggregated
    union all
    select
        account_id,
        campaign_id,
        campaign_message_id,
        variation_id
    from listed_without_engagement

),

final as (

    select
        {{ generate_surrogate_key([
            'message_keys.account_id', 'message_keys.campaign_id',
            'message_keys.campaign_message_id', 'message_keys.variation_id',
        ]) }} as campaign_message_key,
        message_keys.account_id,
        message_keys.campaign_id,
        message_keys.campaign_message_id,
        message_keys.variation_id,
        campaigns.campaign_name,
        campaign_messages.message_label,
        campaign_messages.subject,
        coalesce(campaign_messages.channel, campaigns.channel, 'email')
            as channel,
        campaigns.send_time,
        {{ klaviyo_message_metrics('aggregated') }}
    from message_keys
    left join aggregated
        on
            message_keys.account_id = aggregated.account_id
            and message_keys.campaign_id = aggregated.campaign_id
            and message_keys.campaign_message_id
            is not distinct from aggregated.campaign_message_id
            and message_keys.variation_id
            is not distinct from aggregated.variation_id
    left join campaigns
        on
            message_keys.account_id = campaigns.account_id
            and message_keys.campaign_id = campaigns.campaign_id
    left join campaign_messages
        on
            message_keys.account_id = campaign_messages.account_id
            and message_keys.campaign_id = campaign_messages.campaign_id
            and message_keys.campaign_message_id
            = campaign_messages.campaign_message_id

)

select * from final
