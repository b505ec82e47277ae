-- Klaviyo profiles without PII: email and phone number become sha256 hashes
-- of lower(trim(value)); names, addresses, coordinates, IP and the custom
-- properties stay in klaviyo_raw. external_id (and the custom property
-- customer_id) are kept: they join a profile to the shop's customers.
with

source as (

    select * from {{ source('klaviyo', 'profiles') }}

),

renamed as (

    select
        -- ids
        account_id,
        id as profile_id,
        nullif(trim(document #>> '{attributes,external_id}'), '')
            as external_id,
        coalesce(
            nullif(trim(document #>> '{attributes,external_id}'), ''),
            nullif(trim(document #>> '{attributes,properties,customer_id}'), '')
        ) as customer_id,

        -- loader metadata
        _sync_id,
        _loaded_at,

        -- timestamps
        cast(document #>> '{attributes,created}' as timestamptz) as created_at,
        cast(document #>> '{attributes,updated}' as timestamptz) as updated_at,
        cast(
            document #>> '{attributes,last_event_date}' as timestamptz
        ) as last_event_at,

        -- hashed identifiers (PII stays in raw)
        {{ klaviyo_hash_pii(
            "nullif(trim(document #>> '{attributes,email}'), '')"
        ) }} as email_sha256,
        {{ klaviyo_hash_pii(
            "nullif(trim(document #>> '{attributes,phone_number}'), '')"
        ) }} as phone_number_sha256,

        -- coarse location and locale
        nullif(trim(document #>> '{attributes,location,country}'), '')
            as country,
        nullif(trim(document #>> '{attributes,location,timezone}'), '')
            as time_zone,
        nullif(trim(document #>> '{attributes,locale}'), '')
            as locale  -- noqa: RF04
    from source

)

select * from renamed
