-- Acquisition cohorts (month of first purchase) x months since first purchase
-- (marts.fct_customer_cohorts): retention and the LTV curve.
select
    cohort_month,
    months_since_first_purchase,
    activity_month,
    is_partial_month,
    cohort_size,
    active_customers,
    orders,
    retention_rate,
    revenue,
    cumulative_revenue,
    revenue_per_customer,
    cumulative_revenue_per_customer
from marts.fct_customer_cohorts
