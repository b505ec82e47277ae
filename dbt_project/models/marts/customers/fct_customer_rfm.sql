{%- set bins = var('rfm_bins', 5) | int -%}
{%- if bins < 2 or bins > 9 -%}
    {%- do exceptions.raise_compiler_error(
        "var rfm_bins must be between 2 and 9 (one digit per score), got "
        ~ bins
    ) -%}
{%- endif -%}

{{
    config(
        indexes=[
            {'columns': ['segment']},
            {'columns': ['r_score', 'f_score']},
        ]
    )
}}

with

customers as (

    select * from {{ ref('dim_customers') }}

),

data_window as (

    select * from {{ ref('int_orders_data_window') }}

),

segment_map as (

    select * from {{ ref('rfm_segment_map') }}

),

measures as (

    select
        customers.customer_id,
        data_window.reference_date,
        customers.last_order_date,
        customers.order_count as frequency,
        customers.net_revenue as monetary,
        data_window.reference_date - customers.last_order_date
            as recency_days
    from customers
    cross join data_window

),

ranked as (

    -- ntile over the value, best last (fewest recency days, most orders,
    -- most revenue), customer_id only to make the order total
    select
        *,
        ntile({{ bins }}) over (
            order by recency_days desc, customer_id asc
        ) as r_ntile,
        ntile({{ bins }}) over (
            order by frequency asc, customer_id asc
        ) as f_ntile,
        ntile({{ bins }}) over (
            order by monetary asc, customer_id asc
        ) as m_ntile
    from measures

),

scored as (

    -- ties are never split: every customer with the same value gets the
    -- lowest ntile of that value, so equal values always score the same
    -- (and a score can stay empty, e.g. when most customers have 1 order)
    select
        *,
        min(r_ntile) over (partition by recency_days) as r_score,
        min(f_ntile) over (partition by frequency) as f_score,
        min(m_ntile) over (partition by monetary) as m_score
    from ranked

),

segmented as (

    -- the segment map is written for 5 bins: other bin counts are scaled
    -- linearly onto 1..5 first (1 stays 1, the top score becomes 5)
    select
        scored.customer_id,
        scored.reference_date,
        scored.last_order_date,
        scored.recency_days,
        scored.frequency,
        scored.monetary,
        scored.r_score,
        scored.f_score,
        scored.m_score,
        segment_map.segment
    from scored
    left join segment_map
        on
            1 + round(4.0 * (scored.r_score - 1) / ({{ bins }} - 1))
            between segment_map.r_score_min and segment_map.r_score_max
            and 1 + round(4.0 * (scored.f_score - 1) / ({{ bins }} - 1))
            between segment_map.f_score_min and segment_map.f_score_max

),

final as (

    select
        customer_id,
        reference_date,
        last_order_date,
        cast(recency_days as integer) as recency_days,
        cast(frequency as integer) as frequency,
        cast(monetary as {{ type_money() }}) as monetary,
        cast(r_score as integer) as r_score,
        cast(f_score as integer) as f_score,
        cast(m_score as integer) as m_score,
        segment,
        cast(r_score as text)
        || cast(f_score as text)
        || cast(m_score as text) as rfm_score
    from segmented

)

select * from final
