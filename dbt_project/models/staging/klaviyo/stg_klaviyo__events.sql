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
            "{{ delete_orphans(this, 'account_id', source('klaviyo', 'events')) }}",
            "{{ refresh_statistics(this, '_loaded_at') }}",
        ]
    )
}}

{%- set watermark = none -%}
{%- if is_incremental() -%}
    {%- set watermark = load_watermark(
        this, '_loaded_at', var('klaviyo__events_reload_overlap_hours')
    ) -%}
{%- endif %}

with

source as (

    select raw_events.*
    from {{ source('klaviyo', 'events') }} as raw_events
    {% if is_incremental() %}
        -- events are append-only: read what was loaded since the last run,
        -- plus an overlap (var klaviyo__events_reload_overlap_hours) for
        -- transactions that committed late. A row already staged with the
        -- same _loaded_at is unchanged and skipped, so a backfill loaded
        -- inside the overlap is not unpacked again; the check is a
        -- correlated lookup on the unique (account_id, event_id) index, one
        -- probe per row, never a hash join that would spill the documents
        where
            {% if watermark is not none -%}
                -- the load-time watermark (macros/load_watermark.sql), a
                -- literal of the column's own type
                raw_events._loaded_at >= '{{ watermark }}'
                and
            {% endif -%}
            (
                select staged._loaded_at
                from {{ this }} as staged
                where
                    staged.account_id = raw_events.account_id
                    and staged.event_id = raw_events.id
            ) is distinct from raw_events._loaded_at
    {% endif %}

),

unpacked as (

    -- the included metric named by relationships.metric and Klaviyo's own
    -- attribution of a conversion (resource type "attribution": the first
    -- one listed wins), looked up per event
    select
        source.*,
        {{ json_text(
            klaviyo_first_included(
                'source.document',
                'metric',
                json_text('source.document', 'relationships,metric,data,id'),
            ),
            'attributes,name',
        ) }} as included_metric_name,
        {{ klaviyo_first_included('source.document', 'attribution') }}
            as attribution
    from source

),

renamed as (

    select
        -- ids
        unpacked.account_id,
        unpacked.id as event_id,
        {{ json_text('unpacked.document', 'attributes,uuid') }} as event_uuid,
        {{ json_text(
            'unpacked.document',
            'relationships,metric,data,id'
        ) }} as metric_id,
        {{ json_text(
            'unpacked.document',
            'relationships,profile,data,id'
        ) }} as profile_id,

        -- strings
        unpacked.included_metric_name as metric_name,
        nullif(
            trim(
                {{ json_text(
                    'unpacked.document',
                    'attributes,event_properties,$message'
                ) }}
            ),
            ''
        ) as property_message_id,
        nullif(
            trim(
                {{ json_text(
                    'unpacked.document',
                    'attributes,event_properties,$flow'
                ) }}
            ),
            ''
        ) as property_flow_id,
        nullif(
            trim(
                {{ json_text(
                    'unpacked.document',
                    'attributes,event_properties,$variation'
                ) }}
            ),
            ''
        ) as property_variation_id,
        nullif(
            trim(
                {{ json_text(
                    'unpacked.document',
                    'attributes,event_properties,$attributed_message'
                ) }}
            ),
            ''
        ) as property_attributed_message_id,
        nullif(
            trim(
                {{ json_text(
                    'unpacked.document',
                    'attributes,event_properties,$attributed_flow'
                ) }}
            ),
            ''
        ) as property_attributed_flow_id,
        upper(nullif(trim(
            {{ json_text(
                'unpacked.document',
                'attributes,event_properties,$currency_code'
            ) }}
        ), '')) as currency_code,
        -- the sender's own id of the event; e-commerce integrations set it
        -- to the order id on order events
        nullif(
            trim(
                {{ json_text(
                    'unpacked.document',
                    'attributes,event_properties,$event_id'
                ) }}
            ),
            ''
        ) as property_event_id,

        -- native attribution (included "attribution" resource)
        {{ json_text('unpacked.attribution', 'id') }} as attribution_id,
        {{ json_text(
            'unpacked.attribution',
            'relationships,attributed-event,data,id'
        ) }}
            as attributed_event_id,
        {{ json_text(
            'unpacked.attribution',
            'relationships,campaign,data,id'
        ) }}
            as attributed_campaign_id,
        {{ json_text(
            'unpacked.attribution',
            'relationships,campaign-message,data,id'
        ) }}
            as attributed_campaign_message_id,
        {{ json_text('unpacked.attribution', 'relationships,flow,data,id') }}
            as attributed_flow_id,
        {{ json_text(
            'unpacked.attribution',
            'relationships,flow-message,data,id'
        ) }}
            as attributed_flow_message_id,
        {{ json_text(
            'unpacked.attribution',
            'relationships,flow-message-variation,data,id'
        ) }}
            as attributed_flow_message_variation_id,

        -- numerics
        {{ klaviyo_json_money(
            json_value(
                'unpacked.document', 'attributes,event_properties,$value'
            )
        ) }} as event_value,
        cast({{ klaviyo_json_money(
            json_value(
                'unpacked.document', 'attributes,event_properties,Item Count'
            )
        ) }} as {{ dbt.type_bigint() }}) as item_count,

        -- timestamps: datetime (ISO 8601), else timestamp (epoch seconds)
        coalesce(
            cast(
                {{ json_text(
                    'unpacked.document',
                    'attributes,datetime'
                ) }} as timestamptz
            ),
            to_timestamp(
                cast(
                    {{ json_text(
                        'unpacked.document',
                        'attributes,timestamp'
                    ) }} as bigint
                )
            )
        ) as occurred_at,
        unpacked.cursor_value,

        -- loader metadata
        unpacked._sync_id,
        unpacked._loaded_at
    from unpacked

)

select * from renamed
