{#-
    Incremental: the raw order lines are append-only per loaded file, so a
    run inserts only the lines of files it has not seen yet (by _file_id,
    not by "greater than the last id": loads may commit out of order). A
    re-delivered file is loaded under a new _file_id and the loader deletes
    the rows of the superseded version from raw; the post-hook deletes them
    here too. New and superseded files come from the loader's registry
    (macros/file_registry.sql), not from a scan of the lines. A change to
    this model's logic needs
    `dbt build --full-refresh -s int_order_lines_classified+`.
-#}
{%- set new_file_ids = [] -%}
{%- if is_incremental() -%}
    {%- set new_file_ids = new_loaded_files(this, source('shop', 'orders')) -%}
{%- endif %}

{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        indexes=[{'columns': ['_file_id'], 'type': 'brin'}],
        post_hook=[
            "{{ delete_superseded_files(this, source('shop', 'orders')) }}",
            "{{ refresh_statistics(this, '_file_id') }}",
        ]
    )
}}

with

order_lines as (

    select staged.*
    from {{ ref('stg_shop__order_lines') }} as staged
    {% if is_incremental() %}
        -- the files loaded since the last run (none: no rows)
        where
            staged._file_id in (
                {{ new_file_ids | join(', ') if new_file_ids else 'null' }}
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
