{{ config(materialized='table') }}

-- One row per Klaviyo campaign: the campaigns stream, plus campaign ids that
-- only events mention (engagement or native attribution; name null,
-- is_in_campaigns_stream false). channel is
-- resolved in this order: the campaign's messages (document.included), the
-- send_channel of Klaviyo's campaign values report, the channel of the
-- campaign's events (metric names "... Email" / "... SMS"), else 'email'.
with

campaigns as (

    select * from {{ ref('stg_klaviyo__campaigns') }}

),

reports as (

    select * from {{ ref('stg_klaviyo__campaign_values_reports') }}

),

events as (

    select * from {{ ref('int_klaviyo__events') }}

),

report_channels as (

    select
        account_id,
        campaign_id,
        min(send_channel) as channel
    from reports
    where campaign_id is not null and send_channel is not null
    group by account_id, campaign_id

),

event_channels as (

    -- the channel most of the campaign's engagement events speak of
    select
        account_id,
        campaign_id,
        mode() within group (order by event_channel) as channel
    from events
    where
        message_type = 'campaign'
        and event_kind <> 'conversion'
        and event_channel is not null
    group by account_id, campaign_id

),

known_ids as (

    select
        account_id,
        campaign_id
    from campaigns
    union
    select
        account_id,
        campaign_id
    from events
    where message_type = 'campaign'

),

final as (

    select
        known_ids.account_id,
        known_ids.campaign_id,
        campaigns.campaign_name,
        campaigns.campaign_status,
        campaigns.send_strategy,
        campaigns.message_count,
        campaigns.is_archived,
        campaigns.send_time,
        campaigns.scheduled_at,
        campaigns.created_at,
        campaigns.updated_at,
        campaigns.campaign_id is not null as is_in_campaigns_stream,
        coalesce(
            campaigns.channel,
            report_channels.channel,
            event_channels.channel,
            'email'
        ) as channel
    from known_ids
    left join campaigns
        on
            known_ids.account_id = campaigns.account_id
            and known_ids.campaign_id = campaigns.campaign_id
    left join report_channels
        on
            known_ids.account_id = report_channels.account_id
            and known_ids.campaign_id = report_channels.campaign_id
    left join event_channels
        on
            known_ids.account_id = event_channels.account_id
            and known_ids.campaign_id = event_channels.campaign_id

)

select * from final
