{%- set ltv_months = [3, 6, 12] -%}

{{
    config(
        indexes=[
            {'columns': ['cohort_month']},
        ]
    )
}}

with

customer_orders as (

    select * from {{ ref('int_customer_orders') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

campaign_daily as (

    select * from {{ ref('fct_campaign_daily') }}

),

channels as (

    select distinct
        channel,
        is_paid
    from {{ ref('channel_taxonomy') }}

),

data_window as (

    select * from {{ ref('int_orders_data_window') }}

),

acquired as (

    select
        acquisition_channel,
        cohort_month,
        count(*) as new_customers
    from customers
    group by acquisition_channel, cohort_month

),

spend as (

    -- spend of unmapped raw channels can't be attributed to a channel
    select
        channel as acquisition_channel,
        {{ month_start('date_day') }} as cohort_month,
        sum(spend) as spend
    from campaign_daily
    where channel <> 'unmapped'
    group by channel, {{ month_start('date_day') }}

),

channel_months as (

    -- a channel-month with new customers, with spend, or with both
    select
        coalesce(
            acquired.acquisition_channel, spend.acquisition_channel
        ) as acquisition_channel,
        coalesce(acquired.cohort_month, spend.cohort_month) as cohort_month,
        coalesce(acquired.new_customers, 0) as new_customers,
        coalesce(spend.spend, 0) as spend
    from acquired
    full outer join spend
        on
            acquired.acquisition_channel = spend.acquisition_channel
            and acquired.cohort_month = spend.cohort_month
    where acquired.new_customers > 0 or spend.spend > 0

),

channel_cohorts as (

    select
        channel_months.*,
        {{ months_between(
            'channel_months.cohort_month', 'data_window.last_month'
        ) }} as cohort_age_months
    from channel_months
    cross join data_window

),

monthly_revenue as (

    select
        customers.acquisition_channel,
        customer_orders.cohort_month,
        customer_orders.months_since_first_purchase,
        sum(customer_orders.net_revenue) as revenue
    from customer_orders
    inner join customers
        on customer_orders.customer_id = customers.customer_id
    group by
        customers.acquisition_channel,
        customer_orders.cohort_month,
        customer_orders.months_since_first_purchase

),

curve as (

    -- cumulative net revenue of the channel's cohort by month offset, every
    -- offset from 0 to the last month of the data
    select
        channel_cohorts.acquisition_channel,
        channel_cohorts.cohort_month,
        channel_cohorts.cohort_age_months,
        channel_cohorts.new_customers,
        channel_cohorts.spend,
        month_offsets.months_since_first_purchase,
        sum(coalesce(monthly_revenue.revenue, 0)) over (
            partition by
                channel_cohorts.acquisition_channel,
                channel_cohorts.cohort_month
            order by month_offsets.months_since_first_purchase
            rows between unbounded preceding and current row
        ) as cumulative_revenue
    from channel_cohorts
    cross join
        lateral generate_series(
            0, channel_cohorts.cohort_age_months
        ) as month_offsets (months_since_first_purchase)
    left join monthly_revenue
        on
            channel_cohorts.acquisition_channel
            = monthly_revenue.acquisition_channel
            and channel_cohorts.cohort_month = monthly_revenue.cohort_month
            and month_offsets.months_since_first_purchase
            = monthly_revenue.months_since_first_purchase

),

curve_summary as (

    -- cumulative revenue at month k: null when the cohort is younger than
    -- k months or acquired nobody (a spend-only month). payback: first
    -- offset whose cumulative revenue per customer reaches CAC, i.e.
    -- cumulative revenue >= spend (same customers on both sides)
    select
        acquisition_channel,
        cohort_month,
        {% for k in ltv_months %}
            max(cumulative_revenue) filter (
                where
                new_customers > 0
                and months_since_first_purchase = {{ k }}
            ) as cumulative_revenue_{{ k }}m,
        {% endfor %}
        max(cumulative_revenue) filter (
            where
            new_customers > 0
            and months_since_first_purchase = cohort_age_months
        ) as cumulative_revenue_to_date,
        min(months_since_first_purchase) filter (
            where
            spend > 0
            and new_customers > 0
            and cumulative_revenue >= spend
        ) as payback_month
    from curve
    group by acquisition_channel, cohort_month

),

final as (

    select
        channel_cohorts.acquisition_channel,
        channel_cohorts.cohort_month,
        channels.is_paid,
        cast(channel_cohorts.cohort_age_months as integer)
            as cohort_age_months,
        cast(channel_cohorts.new_customers as integer) as new_customers,
        cast(channel_cohorts.spend as {{ type_money() }}) as spend,
        cast({{ safe_divide(
            'channel_cohorts.spend', 'channel_cohorts.new_customers'
        ) }} as {{ dbt.type_numeric() }}) as cac,
        {% for k in ltv_months %}
            cast({{ safe_divide(
                'curve_summary.cumulative_revenue_' ~ k ~ 'm',
                'channel_cohorts.new_customers'
            ) }} as {{ dbt.type_numeric() }}) as ltv_{{ k }}m,
        {% endfor %}
        cast({{ safe_divide(
            'curve_summary.cumulative_revenue_to_date',
            'channel_cohorts.new_customers'
        ) }} as {{ dbt.type_numeric() }}) as ltv_to_date,
        -- LTV / CAC = (revenue / customers) / (spend / customers)
        --           = revenue / spend
        cast({{ safe_divide(
            'curve_summary.cumulative_revenue_12m', 'channel_cohorts.spend'
        ) }} as {{ dbt.type_numeric() }}) as ltv_to_cac_12m,
        cast({{ safe_divide(
            'curve_summary.cumulative_revenue_to_date', 'channel_cohorts.spend'
        ) }} as {{ dbt.type_numeric() }}) as ltv_to_cac_to_date,
        cast(curve_summary.payback_month as integer) as payback_month
    from channel_cohorts
    left join curve_summary
        on
            channel_cohorts.acquisition_channel
            = curve_summary.acquisition_channel
            and channel_cohorts.cohort_month = curve_summary.cohort_month
    left join channels
        on channel_cohorts.acquisition_channel = channels.channel

)

select * from final
