with

source as (

    select * from {{ source('klaviyo', 'lists') }}

),

renamed as (

    select
        -- ids
        account_id,
        id as list_id,

        -- loader metadata
        _sync_id,
        _loaded_at,

        -- timestamps
        cast(document #>> '{attributes,created}' as timestamptz) as created_at,
        cast(document #>> '{attributes,updated}' as timestamptz) as updated_at,

        -- strings
        trim(document #>> '{attributes,name}') as list_name,
        document #>> '{attributes,opt_in_process}' as opt_in_process
    from source

)

select * from renamed
