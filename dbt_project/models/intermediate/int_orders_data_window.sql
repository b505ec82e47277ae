with

orders as (

    select * from {{ ref('int_orders') }}

),

window_bounds as (

    select
        min(order_date) as first_order_date,
        max(order_date) as last_order_date
    from orders

),

reference as (

    -- reference date: var customer_reference_date, by default the day
    -- after the last order of any kind (customer, guest, cancellation), so
    -- the latest buyers have recency 1 and results don't depend on now()
    select
        first_order_date,
        last_order_date,
        {% if var('customer_reference_date', none) %}
            cast('{{ var("customer_reference_date") }}' as date)
        {% else %}
            last_order_date + 1
        {% endif %} as reference_date
    from window_bounds

),

final as (

    select
        first_order_date,
        last_order_date,
        reference_date,
        {{ month_start('first_order_date') }} as first_month,
        {{ month_start('reference_date - 1') }} as last_month,
        extract(day from reference_date) = 1 as is_last_month_complete
    from reference

)

select * from final
