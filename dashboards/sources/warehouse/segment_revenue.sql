-- One row per ML customer segment of the newest segmentation run (marts.fct_segment_revenue):
-- size, revenue and behaviour.
select
    model_version,
    segment_id,
    segment_label,
    customers,
    customer_share,
    orders,
    revenue,
    revenue_share,
    revenue_per_customer,
    orders_per_customer,
    avg_order_value,
    avg_recency_days
from marts.fct_segment_revenue
