{{ config(materialized='table') }}

with

orders as (

    select * from {{ ref('int_orders') }}
    where customer_id is not null

),

first_purchases as (

    -- a customer exists for the customer marts from their first purchase:
    -- customers with only cancellations (of orders from before the data
    -- starts) are left out
    select
        customer_id,
        min(ordered_at) as first_purchase_at
    from orders
    where order_type = 'purchase'
    group by customer_id

),

customer_orders as (

    select
        orders.customer_id,
        orders.order_id,
        orders.order_type,
        orders.order_type = 'purchase' as is_purchase,
        orders.is_cancellation,
        orders.ordered_at,
        orders.order_date,
        orders.order_month,
        orders.country,
        orders.items,
        orders.gross_revenue,
        orders.cancelled_revenue,
        orders.net_revenue,
        orders.purchase_number,
        first_purchases.first_purchase_at,
        {{ month_start('first_purchases.first_purchase_at') }} as cohort_month,
        orders.ordered_at < first_purchases.first_purchase_at
            as is_before_first_purchase
    from orders
    inner join first_purchases
        on orders.customer_id = first_purchases.customer_id

),

final as (

    -- months_since_first_purchase: calendar months from the cohort month
    -- to the order month. A cancellation dated before the first purchase
    -- (of an order placed before the data starts) still reduces the
    -- customer's net revenue; it is counted in month 0.
    select
        *,
        greatest(
            {{ months_between('cohort_month', 'order_month') }}, 0
        ) as months_since_first_purchase
    from customer_orders

)

select * from final
