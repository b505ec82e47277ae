with

source as (

    select * from {{ source('shop', 'orders') }}

),

renamed as (

    -- order lines have no natural key (identical lines may repeat), so
    -- nothing is deduplicated: a line is its (_file_id, _line_number)
    select
        {{ generate_surrogate_key(
            ['_file_id', '_line_number']
        ) }} as order_line_key,
        trim(order_id) as order_id,
        coalesce(trim(order_id) like 'C%', false) as is_cancellation,
        nullif(trim(customer_id), '') as customer_id,
        ordered_at,
        cast(ordered_at as date) as order_date,
        quantity,
        cast(unit_price as {{ type_money() }}) as unit_price,
        cast(quantity * unit_price as {{ type_money() }}) as line_amount,
        nullif(trim(product), '') as product_code,
        nullif(trim(product_name), '') as product_name,
        nullif(trim(country), '') as country,
        _file_id,
        _line_number,
        _loaded_at
    from source

)

select * from renamed
