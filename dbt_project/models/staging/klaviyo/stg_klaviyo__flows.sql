with

source as (

    select * from {{ source('klaviyo', 'flows') }}

),

renamed as (

    select
        -- ids
        account_id,
        id as flow_id,

        -- loader metadata
        _sync_id,
        _loaded_at,

        -- booleans
        cast(document #>> '{attributes,archived}' as boolean) as is_archived,

        -- timestamps
        cast(document #>> '{attributes,created}' as timestamptz) as created_at,
        cast(document #>> '{attributes,updated}' as timestamptz) as updated_at,

        -- strings
        trim(document #>> '{attributes,name}') as flow_name,
        document #>> '{attributes,status}' as flow_status,
        document #>> '{attributes,trigger_type}' as trigger_type
    from source

)

select * from renamed
