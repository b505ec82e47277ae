{%- set grains = ['day', 'week', 'month'] -%}

{{
    config(
        indexes=[
            {'columns': ['grain', 'period_start']},
            {'columns': ['channel', 'grain', 'period_start']},
        ]
    )
}}

with

campaign_daily as (

    select * from {{ ref('fct_campaign_daily') }}

),

periods as (

    -- every daily row once per grain; weeks start on Monday (ISO)
    {% for grain in grains %}
        select
            '{{ grain }}' as grain,
            cast({{ dbt.date_trunc(grain, 'date_day') }} as date)
                as period_start,
            campaign_key,
            channel,
            channel_group,
            is_paid,
            source,
            spend,
            impressions,
            clicks,
            conversions,
            revenue
        from campaign_daily
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

aggregated as (

    select
        grain,
        period_start,
        channel,
        channel_group,
        is_paid,
        count(distinct campaign_key) as campaigns,
        string_agg(distinct source, ', ' order by source) as sources,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(conversions) as conversions,
        sum(revenue) as revenue
    from periods
    group by grain, period_start, channel, channel_group, is_paid

),

final as (

    select
        grain,
        period_start,
        channel,
        channel_group,
        is_paid,
        cast(campaigns as integer) as campaigns,
        sources,
        {{ marketing_measures() }},
        cast({{ safe_divide(
            'spend', 'sum(spend) over (partition by grain, period_start)'
        ) }} as {{ dbt.type_numeric() }}) as share_of_spend,
        cast({{ safe_divide(
            'revenue', 'sum(revenue) over (partition by grain, period_start)'
        ) }} as {{ dbt.type_numeric() }}) as share_of_revenue
    from aggregated

)

select * from final
