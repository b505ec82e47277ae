-- One row per Klaviyo flow message and variation, lifetime (marts.fct_flow_message_performance).
select
    flow_message_key,
    account_id,
    flow_id,
    flow_message_id,
    variation_id,
    flow_name,
    channel,
    recipients,
    delivered,
    bounces,
    unique_opens,
    unique_clicks,
    unsubscribes,
    spam_complaints,
    attributed_orders,
    attributed_revenue
from marts.fct_flow_message_performance
