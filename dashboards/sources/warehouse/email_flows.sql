-- One row per Klaviyo flow, lifetime (marts.fct_flow_performance): flows send all the
-- time, so they have no send date.
select
    account_id,
    flow_id,
    campaign_key,
    flow_name,
    flow_status,
    trigger_type,
    is_archived,
    channels,
    flow_messages,
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
from marts.fct_flow_performance
