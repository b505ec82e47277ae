{{
    config(
        indexes=[
            {'columns': ['cohort_month']},
            {'columns': ['acquisition_channel', 'cohort_month']},
        ]
    )
}}

with

customer_orders as (

    select * from {{ ref('int_customer_orders') }}

),

crm_customers as (

    select * from {{ ref('stg_crm__customers') }}

),

channel_taxonomy as (

    select * from {{ ref('channel_taxonomy') }}

),

data_window as (

    select * from {{ ref('int_orders_data_window') }}

),

order_summary as (

    select
        customer_id,
        min(first_purchase_at) as first_order_at,
        min(cohort_month) as cohort_month,
        min(order_date) filter (where is_purchase) as first_order_date,
        max(order_date) filter (where is_purchase) as last_order_date,
        count(*) filter (where is_purchase) as order_count,
        count(*) filter (where is_cancellation) as cancellation_count,
        sum(gross_revenue) as gross_revenue,
        sum(cancelled_revenue) as cancelled_revenue,
        sum(net_revenue) as net_revenue
    from customer_orders
    group by customer_id

),

last_purchase_country as (

    select
        customer_id,
        country,
        row_number() over (
            partition by customer_id
            order by ordered_at desc, order_id desc
        ) as recency_rank
    from customer_orders
    where is_purchase

),

final as (

    select
        order_summary.customer_id,
        order_summary.first_order_at,
        order_summary.first_order_date,
        order_summary.last_order_date,
        order_summary.cohort_month,
        cast(order_summary.order_count as integer) as order_count,
        cast(
            order_summary.cancellation_count as integer
        ) as cancellation_count,
        cast(order_summary.gross_revenue as {{ type_money() }})
            as gross_revenue,
        cast(order_summary.cancelled_revenue as {{ type_money() }})
            as cancelled_revenue,
        cast(order_summary.net_revenue as {{ type_money() }}) as net_revenue,
        cast({{ safe_divide(
            'order_summary.net_revenue', 'order_summary.order_count'
        ) }} as {{ dbt.type_numeric() }}) as average_order_value,
        cast(
            data_window.reference_date - 1 - order_summary.last_order_date
            as integer
        ) as days_since_last_order,
        crm_customers.customer_id is not null as is_in_crm,
        crm_customers.acquisition_channel as acquisition_source_channel,
        case
            when crm_customers.acquisition_channel is null then 'unknown'
            else coalesce(channel_taxonomy.channel, 'unmapped')
        end as acquisition_channel,
        case
            when crm_customers.acquisition_channel is null then 'unknown'
            else coalesce(channel_taxonomy.channel_group, 'unmapped')
        end as acquisition_channel_group,
        crm_customers.signup_date,
        crm_customers.age,
        crm_customers.gender,
        coalesce(
            crm_customers.country, last_purchase_country.country
        ) as country,
        crm_customers.sessions,
        crm_customers.pages_per_session,
        crm_customers.avg_session_duration_seconds as avg_session_duration
    from order_summary
    cross join data_window
    inner join last_purchase_country
        on
            order_summary.customer_id = last_purchase_country.customer_id
            and last_purchase_country.recency_rank = 1
    left join crm_customers
        on order_summary.customer_id = crm_customers.customer_id
    left join channel_taxonomy
        on lower(crm_customers.acquisition_channel)
            = channel_taxonomy.source_channel

)

select * from final
