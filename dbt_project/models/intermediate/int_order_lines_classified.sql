{#-
    Incremental: the raw order lines are append-only per loaded file, so a
    run inserts only the lines of files it has not seen yet (by _file_id,
    not by "greater than the last id": loads may commit out of order). A
    re-delivered file is loaded under a new _file_id and the loader deletes
    the rows of the superseded version from raw; the post-hook deletes them
    here too. A change to this model's logic needs
    `dbt build --full-refresh -s int_order_lines_classified+`.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        indexes=[{'columns': ['_file_id'], 'type': 'brin'}],
        post_hook=[
            "delete from {{ this }}
            where _file_id not in (
                select distinct _file_id
                from {{ ref('stg_shop__order_lines') }}
            )"
        ]
    )
}}

with

order_lines as (

    select staged.*
    from {{ ref('stg_shop__order_lines') }} as staged
    {% if is_incremental() %}
        -- the new files, found on the few distinct ids first: a per-row
        -- anti-join against this table's million rows can take minutes
        where staged._file_id in (
                select delivered._file_id
                from (
                    select distinct delivered_lines._file_id
                    from {{ ref('stg_shop__order_lines') }} as delivered_lines
                ) as delivered
                where delivered._file_id not in (
                        select distinct processed._file_id
                        from {{ this }} as processed
                    )
            )
    {% endif %}

),

classified as (

    -- the shop export's lines; Klaviyo order events carry no lines and
    -- join at the order grain (int_orders)
    select
        order_line_key,
        'shop' as order_source,
        order_id,
        customer_id,
        ordered_at,
        order_date,
        is_cancellation,
        quantity,
        unit_price,
        line_amount,
        product_code,
        product_name,
        country,
        _file_id,
        _line_number,
        case
            when is_cancellation then 'cancellation'
            when quantity < 0 then 'stock_adjustment'
            else 'purchase'
        end as line_type
    from order_lines

)

select * from classified
