with

source as (

    select * from {{ source('ml', 'customer_segments') }}

),

newest as (

    select
        customer_id,
        segment_id,
        segment_label,
        distance_to_centre,
        model_version
    from source
    where
        model_version = {{ newest_model_version('customer_segmentation') }}

)

select * from newest
