-- Raw channel names that seed channel_taxonomy does not map (they show up
-- as channel 'unmapped' in the marts). Warns, listing each name with its
-- rows and spend: add the name to seeds/channel_taxonomy.csv.
{{ config(severity='warn') }}

select
    source_channel,
    count(*) as row_count,
    sum(spend) as spend
from {{ ref('int_campaign_daily_mapped') }}
where not is_channel_mapped
group by source_channel
