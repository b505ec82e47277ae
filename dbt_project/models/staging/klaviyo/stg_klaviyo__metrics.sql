with

source as (

    select * from {{ source('klaviyo', 'metrics') }}

),

renamed as (

    select
        -- ids
        account_id,
        id as metric_id,

        -- loader metadata
        _sync_id,
        _loaded_at,

        -- timestamps
        cast(document #>> '{attributes,created}' as timestamptz) as created_at,
        cast(document #>> '{attributes,updated}' as timestamptz) as updated_at,

        -- strings
        document #>> '{attributes,name}' as metric_name,
        document #>> '{attributes,integration,name}' as integration_name,
        document #>> '{attributes,integration,category}'
            as integration_category
    from source

)

select * from renamed
