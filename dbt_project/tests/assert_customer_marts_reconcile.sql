-- The customer marts describe the same customers and the same money:
-- customer count and net revenue agree between fct_orders (orders of
-- customers with a purchase), dim_customers, fct_customer_rfm, the last
-- month of every cohort in fct_customer_cohorts and the cohorts of
-- fct_channel_unit_economics.
{{ config(meta={'dagster': {'ref': {'name': 'dim_customers'}}}) }}

with

last_month as (

    select max(activity_month) as activity_month
    from {{ ref('fct_customer_cohorts') }}

),

customers as (

    select
        count(*) as customers,
        coalesce(sum(net_revenue), 0) as net_revenue
    from {{ ref('dim_customers') }}

),

layers as (

    select
        'fct_orders' as layer,
        count(distinct orders.customer_id) as customers,
        coalesce(sum(orders.net_revenue), 0) as net_revenue
    from {{ ref('fct_orders') }} as orders
    where orders.customer_id in (
            select purchases.customer_id
            from {{ ref('fct_orders') }} as purchases
            where purchases.order_type = 'purchase'
        )

    union all

    select
        'fct_customer_rfm' as layer,
        count(*) as customers,
        coalesce(sum(monetary), 0) as net_revenue
    from {{ ref('fct_customer_rfm') }}

    union all

    select
        'fct_customer_cohorts' as layer,
        coalesce(sum(cohorts.cohort_size) filter (
            where cohorts.months_since_first_purchase = 0
        ), 0) as customers,
        coalesce(sum(cohorts.cumulative_revenue) filter (
            where cohorts.activity_month = last_month.activity_month
        ), 0) as net_revenue
    from {{ ref('fct_customer_cohorts') }} as cohorts
    cross join last_month

    union all

    select
        'fct_channel_unit_economics' as layer,
        coalesce(sum(new_customers), 0) as customers,
        null as net_revenue
    from {{ ref('fct_channel_unit_economics') }}

)

select
    layers.layer,
    layers.customers,
    customers.customers as dim_customers,
    layers.net_revenue,
    customers.net_revenue as dim_net_revenue
from layers
cross join customers
where
    layers.customers is distinct from customers.customers
    or (
        layers.net_revenue is not null
        and layers.net_revenue is distinct from customers.net_revenue
    )
