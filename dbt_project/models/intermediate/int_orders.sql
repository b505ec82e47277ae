{{ config(materialized='table') }}

with

order_lines as (

    select * from {{ ref('int_order_lines_classified') }}

),

klaviyo_orders as (

    select * from {{ ref('int_klaviyo__orders') }}

),

shop_orders as (

    -- the lines of one invoice share customer, country and (up to a minute
    -- or so) the timestamp: the earliest timestamp is the order's
    select
        order_id,
        is_cancellation,
        min(order_source) as order_source,
        max(customer_id) as customer_id,
        min(ordered_at) as ordered_at,
        min(country) as country,
        count(*) as line_count,
        sum(quantity) as items,
        sum(line_amount) as amount,
        bool_and(line_type = 'stock_adjustment') as is_stock_adjustment
    from order_lines
    group by order_id, is_cancellation

),

klaviyo_order_rows as (

    select
        order_id,
        is_cancellation,
        'klaviyo' as order_source,
        customer_id,
        ordered_at,
        country,
        cast(null as {{ dbt.type_bigint() }}) as line_count,
        items,
        amount,
        false as is_stock_adjustment
    from klaviyo_orders

),

combined as (

    select
        *,
        1 as source_priority
    from shop_orders
    union all
    select
        *,
        2 as source_priority
    from klaviyo_order_rows

),

deduplicated as (

    -- an order both the shop export and Klaviyo carry counts once, from the
    -- export (it has the lines): Klaviyo adds the orders the export lacks.
    -- A window, not an anti-join: its plan cannot turn into a nested loop
    -- over the shop's orders when Klaviyo's row count is misestimated
    select *
    from (
        select
            *,
            row_number() over (
                partition by order_id order by source_priority asc
            ) as source_rank
        from combined
    ) as ranked
    where source_rank = 1

),

typed as (

    select
        order_id,
        order_source,
        customer_id,
        ordered_at,
        cast(ordered_at as date) as order_date,
        {{ month_start('ordered_at') }} as order_month,
        is_cancellation,
        case
            when is_cancellation then 'cancellation'
            when is_stock_adjustment then 'stock_adjustment'
            else 'purchase'
        end as order_type,
        country,
        line_count,
        items,
        cast(
            case when is_cancellation then 0 else amount end
            as {{ type_money() }}
        ) as gross_revenue,
        cast(
            case when is_cancellation then -amount else 0 end
            as {{ type_money() }}
        ) as cancelled_revenue,
        cast(amount as {{ type_money() }}) as net_revenue
    from deduplicated

),

numbered as (

    -- nth purchase of the customer (null for guests and other order types)
    select
        *,
        case
            when customer_id is not null and order_type = 'purchase'
                then row_number() over (
                        partition by customer_id, order_type = 'purchase'
                        order by ordered_at asc, order_id asc
                    )
        end as purchase_number
    from typed

)

select * from numbered
