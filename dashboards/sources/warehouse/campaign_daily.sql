-- Day x campaign x channel measures (marts.fct_campaign_daily); pages recompute every
-- ratio from these sums over the period they show.
select
    date_day,
    campaign_key,
    campaign_name,
    channel,
    channel_group,
    spend,
    impressions,
    clicks,
    conversions,
    revenue
from marts.fct_campaign_daily
