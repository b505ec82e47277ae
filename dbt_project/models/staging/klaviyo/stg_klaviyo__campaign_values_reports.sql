-- Klaviyo's own campaign statistics (POST /api/campaign-values-reports),
-- one row per result (groupings + statistics). The loader writes one result
-- per raw row (document.attributes, the request it sent under
-- document.request); a raw row holding the whole results array
-- (document.attributes.results) is unpacked too. Rates are not kept: the
-- marts compute them from the counts.
with

source as (

    select * from {{ source('klaviyo', 'campaign_values_reports') }}

),

results as (

    select
        source.account_id,
        source.id as report_id,
        source.document,
        source.cursor_value,
        source._sync_id,
        source._loaded_at,
        unpacked.result,
        unpacked.result_number
    from source
    cross join lateral jsonb_array_elements(
        case
            when
                jsonb_typeof(source.document #> '{attributes,results}')
                = 'array'
                then source.document #> '{attributes,results}'
            else jsonb_build_array(source.document -> 'attributes')
        end
    ) with ordinality as unpacked (result, result_number)

),

renamed as (

    select
        -- ids
        {{ generate_surrogate_key(
            ['account_id', 'report_id', 'result_number']
        ) }} as report_result_key,
        account_id,
        report_id,
        cast(result_number as integer) as result_position,
        result #>> '{groupings,campaign_id}' as campaign_id,
        result #>> '{groupings,campaign_message_id}' as campaign_message_id,
        result #>> '{groupings,variation}' as variation_id,
        coalesce(
            document #>> '{request,conversion_metric_id}',
            document #>> '{attributes,conversion_metric_id}'
        ) as conversion_metric_id,

        -- strings
        result #>> '{groupings,send_channel}' as send_channel,
        result #>> '{groupings,campaign_message_name}'
            as campaign_message_name,
        result #>> '{groupings,variation_name}' as variation_name,
        coalesce(
            document #>> '{request,timeframe,key}',
            document #>> '{attributes,timeframe,key}'
        ) as timeframe_key,

        -- numerics (counts and money as Klaviyo reported them)
        {{ klaviyo_json_count("result #> '{statistics,recipients}'") }}
            as recipients,
        {{ klaviyo_json_count("result #> '{statistics,delivered}'") }}
            as delivered,
        {{ klaviyo_json_count("result #> '{statistics,bounced}'") }}
            as bounced,
        {{ klaviyo_json_count("result #> '{statistics,failed}'") }}
            as failed,
        {{ klaviyo_json_count("result #> '{statistics,opens}'") }}
            as opens,
        {{ klaviyo_json_count("result #> '{statistics,opens_unique}'") }}
            as opens_unique,
        {{ klaviyo_json_count("result #> '{statistics,clicks}'") }}
            as clicks,
        {{ klaviyo_json_count("result #> '{statistics,clicks_unique}'") }}
            as clicks_unique,
        {{ klaviyo_json_count("result #> '{statistics,unsubscribes}'") }}
            as unsubscribes,
        {{ klaviyo_json_count("result #> '{statistics,unsubscribe_uniques}'") }}
            as unsubscribe_uniques,
        {{ klaviyo_json_count("result #> '{statistics,spam_complaints}'") }}
            as spam_complaints,
        {{ klaviyo_json_count("result #> '{statistics,conversions}'") }}
            as conversions,
        {{ klaviyo_json_count("result #> '{statistics,conversion_uniques}'") }}
            as conversion_uniques,
        {{ klaviyo_json_money("result #> '{statistics,conversion_value}'") }}
            as conversion_value,

        -- timestamps
        cast(coalesce(
            document #>> '{request,timeframe,start}',
            document #>> '{attributes,timeframe,start}'
        ) as timestamptz) as timeframe_start,
        cast(coalesce(
            document #>> '{request,timeframe,end}',
            document #>> '{attributes,timeframe,end}'
        ) as timestamptz) as timeframe_end,
        cursor_value,

        -- loader metadata
        _sync_id,
        _loaded_at
    from results

)

select * from renamed
