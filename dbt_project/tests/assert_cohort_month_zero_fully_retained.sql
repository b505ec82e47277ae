-- Month 0 of a cohort is the month of every member's first purchase, so
-- every member is active in it: retention 1, active = cohort size.
select
    cohort_month,
    cohort_size,
    active_customers,
    retention_rate
from {{ ref('fct_customer_cohorts') }}
where
    months_since_first_purchase = 0
    and (active_customers <> cohort_size or retention_rate <> 1)
