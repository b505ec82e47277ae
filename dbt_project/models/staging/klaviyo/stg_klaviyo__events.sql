{#-
    Incremental: events are append-only per account. An account whose rows
    are gone from raw (a removed demo account) is deleted here too by the
    post-hook.
-#}
{{
    config(
        materialized='incremental',
        unique_key=['account_id', 'event_id'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[
            {'columns': ['account_id', 'event_id'], 'unique': true},
            {'columns': ['account_id', 'profile_id', 'occurred_at']},
            {'columns': ['_loaded_at']},
        ],
        post_hook=[
            "delete from {{ this }}
            where account_id in (
                select staged_accounts.account_id
                from (
                    select distinct account_id from {{ this }}
                ) as staged_accounts
                where not exists (
                    select 1
                    from {{ source('klaviyo', 'events') }} as raw_events
                    where raw_events.account_id = staged_accounts.account_id
                )
            )"
        ]
    )
}}

with

source as (

    select * from {{ source('klaviyo', 'events') }}
    {% if is_incremental() %}
        -- events are append-only: read what was loaded since the last run,
        -- plus an overlap for transactions that committed late (delete+insert
        -- on the key makes the re-read rows harmless)
        where _loaded_at >= (
                select
                    coalesce(
                        max(previous_rows._loaded_at),
                        cast('-infinity' as timestamptz)
                    )
                    - interval '1 hour'
                    * {{ var('klaviyo__events_reload_overlap_hours') }}
                from {{ this }} as previous_rows
            )
    {% endif %}

),

included as (

    -- the resources the API returned beside the event (contract: kept under
    -- document.included), one row each
    select
        source.account_id,
        source.id as event_id,
        resources.resource,
        resources.resource_number
    from source
    cross join lateral jsonb_array_elements(
        case
            when jsonb_typeof(source.document -> 'included') = 'array'
                then source.document -> 'included'
            else cast('[]' as jsonb)
        end
    ) with ordinality as resources (resource, resource_number)

),

included_metrics as (

    select distinct
        included.account_id,
        included.event_id,
        included.resource ->> 'id' as metric_id,
        included.resource #>> '{attributes,name}' as metric_name
    from included
    where included.resource ->> 'type' = 'metric'

),

included_attributions as (

    -- Klaviyo's own attribution of a conversion (resource type
    -- "attribution"): the first one listed for the event wins
    select
        included.account_id,
        included.event_id,
        included.resource ->> 'id' as attribution_id,
        included.resource #>> '{relationships,attributed-event,data,id}'
            as attributed_event_id,
        included.resource #>> '{relationships,campaign,data,id}'
            as attributed_campaign_id,
        included.resource #>> '{relationships,campaign-message,data,id}'
            as attributed_campaign_message_id,
        included.resource #>> '{relationships,flow,data,id}'
            as attributed_flow_id,
        included.resource #>> '{relationships,flow-message,data,id}'
            as attributed_flow_message_id,
        included.resource
        #>> '{relationships,flow-message-variation,data,id}'
            as attributed_flow_message_variation_id,
        row_number() over (
            partition by included.account_id, included.event_id
            order by included.resource_number
        ) as attribution_rank
    from included
    where included.resource ->> 'type' = 'attribution'

),

renamed as (

    select
        -- ids
        source.account_id,
        source.id as event_id,
        source.document #>> '{attributes,uuid}' as event_uuid,
        source.document #>> '{relationships,metric,data,id}' as metric_id,
        source.document #>> '{relationships,profile,data,id}' as profile_id,

        -- strings
        included_metrics.metric_name,
        nullif(
            trim(source.document #>> '{attributes,event_properties,$message}'),
            ''
        ) as property_message_id,
        nullif(
            trim(source.document #>> '{attributes,event_properties,$flow}'),
            ''
        ) as property_flow_id,
        nullif(
            trim(
                source.document #>> '{attributes,event_properties,$variation}'
            ),
            ''
        ) as property_variation_id,
        nullif(
            trim(
                source.document
                #>> '{attributes,event_properties,$attributed_message}'
            ),
            ''
        ) as property_attributed_message_id,
        nullif(
            trim(
                source.document
                #>> '{attributes,event_properties,$attributed_flow}'
            ),
            ''
        ) as property_attributed_flow_id,
        upper(nullif(trim(
            source.document
            #>> '{attributes,event_properties,$currency_code}'
        ), '')) as currency_code,
        -- the sender's own id of the event; e-commerce integrations set it
        -- to the order id on order events
        nullif(
            trim(source.document #>> '{attributes,event_properties,$event_id}'),
            ''
        ) as property_event_id,

        -- native attribution (included "attribution" resource)
        included_attributions.attribution_id,
        included_attributions.attributed_event_id,
        included_attributions.attributed_campaign_id,
        included_attributions.attributed_campaign_message_id,
        included_attributions.attributed_flow_id,
        included_attributions.attributed_flow_message_id,
        included_attributions.attributed_flow_message_variation_id,

        -- numerics
        {{ klaviyo_json_money(
            "source.document #> '{attributes,event_properties,$value}'"
        ) }} as event_value,
        cast({{ klaviyo_json_money(
            "source.document #> '{attributes,event_properties,Item Count}'"
        ) }} as {{ dbt.type_bigint() }}) as item_count,

        -- timestamps: datetime (ISO 8601), else timestamp (epoch seconds)
        coalesce(
            cast(source.document #>> '{attributes,datetime}' as timestamptz),
            to_timestamp(
                cast(source.document #>> '{attributes,timestamp}' as bigint)
            )
        ) as occurred_at,
        source.cursor_value,

        -- loader metadata
        source._sync_id,
        source._loaded_at
    from source
    left join included_metrics
        on
            source.account_id = included_metrics.account_id
            and source.id = included_metrics.event_id
            and source.document #>> '{relationships,metric,data,id}'
            = included_metrics.metric_id
    left join included_attributions
        on
            source.account_id = included_attributions.account_id
            and source.id = included_attributions.event_id
            and included_attributions.attribution_rank = 1

)

select * from renamed
