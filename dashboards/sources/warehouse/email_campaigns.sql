-- One row per Klaviyo campaign, email and SMS, lifetime (marts.fct_email_campaign_performance);
-- pages recompute every rate from these counts. send_date is the UTC day of send_time
-- (null for drafts and scheduled campaigns).
select
    account_id,
    campaign_id,
    campaign_key,
    campaign_name,
    channel,
    campaign_status,
    send_time,
    cast(send_time at time zone 'UTC' as date) as send_date,
    is_archived,
    recipients,
    delivered,
    bounces,
    unique_opens,
    total_opens,
    unique_clicks,
    total_clicks,
    unsubscribes,
    spam_complaints,
    attributed_orders,
    attributed_revenue
from marts.fct_email_campaign_performance
