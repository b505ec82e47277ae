{{
    config(
        indexes=[
            {'columns': ['months_since_first_purchase']},
            {'columns': ['activity_month']},
        ]
    )
}}

with

customer_orders as (

    select * from {{ ref('int_customer_orders') }}

),

data_window as (

    select * from {{ ref('int_orders_data_window') }}

),

cohorts as (

    select
        customer_orders.cohort_month,
        count(distinct customer_orders.customer_id) as cohort_size,
        {{ months_between(
            'customer_orders.cohort_month', 'data_window.last_month'
        ) }} as cohort_age_months
    from customer_orders
    cross join data_window
    group by customer_orders.cohort_month, data_window.last_month

),

cohort_months as (

    -- every month from the cohort month to the last month of the data,
    -- months without any activity included
    select
        cohorts.cohort_month,
        cohorts.cohort_size,
        month_offsets.months_since_first_purchase,
        month_offsets.months_since_first_purchase = cohorts.cohort_age_months
        and not data_window.is_last_month_complete as is_partial_month
    from cohorts
    cross join data_window
    cross join lateral generate_series(
        0, cohorts.cohort_age_months
    ) as month_offsets (months_since_first_purchase)

),

activity as (

    -- active: at least one purchase (not a cancellation) in the month;
    -- revenue is net (cancellations of the month subtracted)
    select
        cohort_month,
        months_since_first_purchase,
        count(distinct customer_id) filter (
            where is_purchase
        ) as active_customers,
        count(*) filter (where is_purchase) as orders,
        sum(net_revenue) as revenue
    from customer_orders
    group by cohort_month, months_since_first_purchase

),

joined as (

    select
        cohort_months.cohort_month,
        cohort_months.months_since_first_purchase,
        cohort_months.cohort_size,
        cohort_months.is_partial_month,
        coalesce(activity.active_customers, 0) as active_customers,
        coalesce(activity.orders, 0) as orders,
        coalesce(activity.revenue, 0) as revenue
    from cohort_months
    left join activity
        on
            cohort_months.cohort_month = activity.cohort_month
            and cohort_months.months_since_first_purchase
            = activity.months_since_first_purchase

),

cumulative as (

    select
        *,
        sum(revenue) over (
            partition by cohort_month
            order by months_since_first_purchase
            rows between unbounded preceding and current row
        ) as cumulative_revenue
    from joined

),

final as (

    select
        cohort_month,
        cast(months_since_first_purchase as integer)
            as months_since_first_purchase,
        cast(
            cohort_month + make_interval(months => months_since_first_purchase)
            as date
        ) as activity_month,
        is_partial_month,
        cast(cohort_size as integer) as cohort_size,
        cast(active_customers as integer) as active_customers,
        cast(orders as integer) as orders,
        cast(
            {{ safe_divide('active_customers', 'cohort_size') }}
            as {{ dbt.type_numeric() }}
        ) as retention_rate,
        cast(revenue as {{ type_money() }}) as revenue,
        cast(cumulative_revenue as {{ type_money() }}) as cumulative_revenue,
        cast(
            {{ safe_divide('revenue', 'cohort_size') }}
            as {{ dbt.type_numeric() }}
        ) as revenue_per_customer,
        cast(
            {{ safe_divide('cumulative_revenue', 'cohort_size') }}
            as {{ dbt.type_numeric() }}
        ) as cumulative_revenue_per_customer
    from cumulative

)

select * from final
