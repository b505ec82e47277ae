-- Revenue and behaviour per ML customer segment (newest segmentation run):
-- what each segment is worth, next to its size.

with

segments as (

    select * from {{ ref('stg_ml__customer_segments') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

per_segment as (

    select
        segments.model_version,
        segments.segment_id,
        segments.segment_label,
        count(*) as customers,
        sum(customers.order_count) as orders,
        sum(customers.net_revenue) as revenue,
        avg(customers.days_since_last_order) as avg_recency_days
    from segments
    inner join customers
        on segments.customer_id = customers.customer_id
    group by segments.model_version, segments.segment_id, segments.segment_label

),

final as (

    select
        model_version,
        segment_id,
        segment_label,
        cast(customers as integer) as customers,
        cast(orders as integer) as orders,
        cast(revenue as {{ type_money() }}) as revenue,
        cast(
            {{ safe_divide('customers', 'sum(customers) over ()') }}
            as {{ dbt.type_numeric() }}
        ) as customer_share,
        cast(
            {{ safe_divide('revenue', 'sum(revenue) over ()') }}
            as {{ dbt.type_numeric() }}
        ) as revenue_share,
        cast(
            {{ safe_divide('revenue', 'customers') }}
            as {{ dbt.type_numeric() }}
        ) as revenue_per_customer,
        cast(
            {{ safe_divide('orders', 'customers') }} as {{ dbt.type_numeric() }}
        ) as orders_per_customer,
        cast(
            {{ safe_divide('revenue', 'orders') }} as {{ dbt.type_numeric() }}
        ) as avg_order_value,
        cast(avg_recency_days as {{ dbt.type_numeric() }}) as avg_recency_days
    from per_segment

)

select * from final
