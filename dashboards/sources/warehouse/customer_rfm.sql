-- RFM (marts.fct_customer_rfm) counted per named segment and recency x frequency score, so
-- the dashboards never download one row per customer. Sums, not averages, so pages can
-- re-aggregate at any level.
select
    segment,
    r_score,
    f_score,
    max(reference_date) as reference_date,
    count(*) as customers,
    sum(frequency) as orders,
    sum(monetary) as net_revenue,
    sum(recency_days) as recency_days_sum
from marts.fct_customer_rfm
group by segment, r_score, f_score
