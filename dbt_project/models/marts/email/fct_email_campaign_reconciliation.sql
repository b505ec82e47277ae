-- Our Klaviyo campaign numbers (fct_email_campaign_performance) next to what
-- Klaviyo's campaign values reports returned, per campaign and measure: total
-- and unique opens and clicks, and attributed revenue (conversion_value). The
-- latest report row of each campaign message counts; measures a report lacks
-- are left out. A measure is within tolerance when
-- |ours - reported| <= max(var klaviyo__reconciliation_tolerance * |reported|,
-- var klaviyo__reconciliation_min_difference). The Dagster asset check
-- klaviyo_campaigns_reconcile fails on the rows that are not, listing them.

with

reports as (

    select * from {{ ref('stg_klaviyo__campaign_values_reports') }}
    where campaign_id is not null

),

campaigns as (

    select * from {{ ref('fct_email_campaign_performance') }}

),

latest_reports as (

    select
        *,
        row_number() over (
            partition by
                account_id,
                campaign_id,
                campaign_message_id,
                send_channel,
                variation_id
            order by
                cursor_value desc nulls last,
                _loaded_at desc,
                report_id desc,
                result_position asc
        ) as recency_rank
    from reports

),

reported as (

    select
        account_id,
        campaign_id,
        sum(opens) as opens,
        sum(opens_unique) as opens_unique,
        sum(clicks) as clicks,
        sum(clicks_unique) as clicks_unique,
        sum(conversion_value) as conversion_value
    from latest_reports
    where recency_rank = 1
    group by account_id, campaign_id

),

compared as (

    select
        reported.account_id,
        reported.campaign_id,
        campaigns.campaign_name,
        measures.measure,
        measures.ours,
        measures.reported
    from reported
    left join campaigns
        on
            reported.account_id = campaigns.account_id
            and reported.campaign_id = campaigns.campaign_id
    cross join lateral (
        values
        (
            'total_opens',
            cast(campaigns.total_opens as numeric),
            cast(reported.opens as numeric)
        ),
        (
            'unique_opens',
            cast(campaigns.unique_opens as numeric),
            cast(reported.opens_unique as numeric)
        ),
        (
            'total_clicks',
            cast(campaigns.total_clicks as numeric),
            cast(reported.clicks as numeric)
        ),
        (
            'unique_clicks',
            cast(campaigns.unique_clicks as numeric),
            cast(reported.clicks_unique as numeric)
        ),
        (
            'attributed_revenue',
            cast(campaigns.attributed_revenue as numeric),
            cast(reported.conversion_value as numeric)
        )
    ) as measures (measure, ours, reported)

),

measured as (

    select
        account_id,
        campaign_id,
        campaign_name,
        measure,
        cast(ours as {{ dbt.type_numeric() }}) as ours,
        cast(reported as {{ dbt.type_numeric() }}) as reported,
        cast(
            coalesce(ours, 0) - reported as {{ dbt.type_numeric() }}
        ) as difference,
        cast(greatest(
            {{ var('klaviyo__reconciliation_tolerance') }} * abs(reported),
            {{ var('klaviyo__reconciliation_min_difference') }}
        ) as {{ dbt.type_numeric() }}) as allowed_difference
    from compared
    where reported is not null

),

final as (

    select
        *,
        abs(difference) <= allowed_difference as is_within_tolerance
    from measured

)

select * from final
