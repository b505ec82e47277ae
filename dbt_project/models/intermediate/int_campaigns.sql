with

campaign_daily as (

    select * from {{ ref('int_campaign_daily_mapped') }}

),

names_by_recency as (

    -- a campaign keeps the name it was last reported under
    select
        campaign_key,
        campaign_id,
        campaign_name,
        campaign_key_source,
        source,
        row_number() over (
            partition by campaign_key
            order by date_day desc, _file_id desc, _line_number desc
        ) as recency_rank
    from campaign_daily

),

channels_by_spend as (

    -- a campaign_id can run on several channels: its primary channel is the
    -- one with the most spend (ties: most impressions, then channel name)
    select
        campaign_key,
        channel,
        channel_group,
        is_paid,
        row_number() over (
            partition by campaign_key
            order by sum(spend) desc, sum(impressions) desc, channel asc
        ) as spend_rank,
        count(*) over (partition by campaign_key) as channel_count
    from campaign_daily
    group by campaign_key, channel, channel_group, is_paid

),

campaigns as (

    select
        names_by_recency.campaign_key,
        names_by_recency.campaign_id,
        names_by_recency.campaign_name,
        names_by_recency.campaign_key_source,
        names_by_recency.source,
        channels_by_spend.channel,
        channels_by_spend.channel_group,
        channels_by_spend.is_paid,
        channels_by_spend.channel_count
    from names_by_recency
    inner join channels_by_spend
        on names_by_recency.campaign_key = channels_by_spend.campaign_key
    where
        names_by_recency.recency_rank = 1
        and channels_by_spend.spend_rank = 1

)

select * from campaigns
