-- Acquisition channel x cohort month (marts.fct_channel_unit_economics): new customers,
-- spend, CAC and LTV at 3/6/12 months and to date, payback month.
select
    acquisition_channel,
    cohort_month,
    is_paid,
    cohort_age_months,
    new_customers,
    spend,
    cac,
    ltv_3m,
    ltv_6m,
    ltv_12m,
    ltv_to_date,
    ltv_to_cac_12m,
    ltv_to_cac_to_date,
    payback_month
from marts.fct_channel_unit_economics
