with

source as (

    select * from {{ source('crm', 'customers') }}

),

renamed as (

    select
        trim(customer_id) as customer_id,
        age,
        lower(nullif(trim(gender), '')) as gender,
        nullif(trim(country), '') as country,
        sessions,
        avg_session_duration as avg_session_duration_seconds,
        pages_per_session,
        transactions,
        cast(revenue as {{ type_money() }}) as lifetime_revenue,
        signup_date,
        nullif(trim(acquisition_channel), '') as acquisition_channel,
        _file_id,
        _line_number,
        _loaded_at
    from source

),

ranked as (

    -- a customer delivered in several files: the latest file, then line, wins
    select
        *,
        row_number() over (
            partition by customer_id
            order by _file_id desc, _line_number desc
        ) as delivery_rank
    from renamed

),

deduplicated as (

    select
        customer_id,
        age,
        gender,
        country,
        sessions,
        avg_session_duration_seconds,
        pages_per_session,
        transactions,
        lifetime_revenue,
        signup_date,
        acquisition_channel,
        _file_id,
        _line_number,
        _loaded_at
    from ranked
    where delivery_rank = 1

)

select * from deduplicated
