-- One row per Klaviyo campaign message and A/B variation
-- (marts.fct_email_campaign_message_performance): subject lines and variations.
select
    campaign_message_key,
    account_id,
    campaign_id,
    campaign_message_id,
    variation_id,
    campaign_name,
    message_label,
    subject,
    channel,
    send_time,
    cast(send_time at time zone 'UTC' as date) as send_date,
    recipients,
    delivered,
    bounces,
    unique_opens,
    unique_clicks,
    unsubscribes,
    spam_complaints,
    attributed_orders,
    attributed_revenue
from marts.fct_email_campaign_message_performance
