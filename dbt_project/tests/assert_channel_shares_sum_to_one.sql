-- Within every grain and period with a non-zero total, the channels' shares
-- of spend (and of revenue) add up to 1 (up to the 6-decimal rounding).
with

periods as (

    select
        grain,
        period_start,
        sum(spend) as spend,
        sum(revenue) as revenue,
        sum(share_of_spend) as share_of_spend,
        sum(share_of_revenue) as share_of_revenue
    from {{ ref('fct_channel_performance') }}
    group by grain, period_start

)

select *
from periods
where
    (spend > 0 and abs(share_of_spend - 1) > 0.0001)
    or (revenue > 0 and abs(share_of_revenue - 1) > 0.0001)
    or (spend = 0 and share_of_spend is not null)
    or (revenue = 0 and share_of_revenue is not null)
