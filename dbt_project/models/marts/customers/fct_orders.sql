{{
    config(
        indexes=[
            {'columns': ['customer_id']},
            {'columns': ['order_date']},
        ]
    )
}}

with

orders as (

    select * from {{ ref('int_orders') }}

),

final as (

    select
        order_id,
        order_source,
        customer_id,
        ordered_at,
        order_date,
        order_month,
        order_type,
        is_cancellation,
        cast(purchase_number as integer) as purchase_number,
        country,
        cast(line_count as integer) as line_count,
        cast(items as {{ dbt.type_bigint() }}) as items,
        cast(gross_revenue as {{ type_money() }}) as gross_revenue,
        cast(cancelled_revenue as {{ type_money() }}) as cancelled_revenue,
        cast(net_revenue as {{ type_money() }}) as net_revenue
    from orders

)

select * from final
