-- Channel x period at grains day, week (Monday) and month (marts.fct_channel_performance).
select
    grain,
    period_start,
    channel,
    channel_group,
    is_paid,
    campaigns,
    spend,
    impressions,
    clicks,
    conversions,
    revenue,
    profit,
    roi,
    roas,
    ctr,
    cvr,
    cpc,
    cpm,
    share_of_spend,
    share_of_revenue
from marts.fct_channel_performance
