-- Klaviyo campaigns. The campaign resource itself has no channel (the API
-- lists email and SMS campaigns with a messages.channel filter): channel is
-- taken from the campaign messages when the loader kept them under
-- document.included, else null here (int_klaviyo__campaigns fills it in).
with

source as (

    select * from {{ source('klaviyo', 'campaigns') }}

),

message_channels as (

    select
        source.account_id,
        source.id as campaign_id,
        min(messages.message #>> '{attributes,definition,channel}')
            as channel
    from source
    cross join
        lateral jsonb_array_elements(
            case
                when jsonb_typeof(source.document -> 'included') = 'array'
                    then source.document -> 'included'
                else cast('[]' as jsonb)
            end
        ) as messages (message)
    where messages.message ->> 'type' = 'campaign-message'
    group by source.account_id, source.id

),

renamed as (

    select
        -- ids
        source.account_id,
        source.id as campaign_id,

        -- loader metadata
        source._sync_id,
        source._loaded_at,

        -- channel of the included messages (null when none was kept)
        message_channels.channel,

        -- booleans
        cast(source.document #>> '{attributes,archived}' as boolean)
            as is_archived,

        -- timestamps
        cast(source.document #>> '{attributes,send_time}' as timestamptz)
            as send_time,
        cast(source.document #>> '{attributes,scheduled_at}' as timestamptz)
            as scheduled_at,
        cast(source.document #>> '{attributes,created_at}' as timestamptz)
            as created_at,
        cast(source.document #>> '{attributes,updated_at}' as timestamptz)
            as updated_at,

        -- numerics
        cast(coalesce(jsonb_array_length(
            case
                when
                    jsonb_typeof(
                        source.document
                        #> '{relationships,campaign-messages,data}'
                    ) = 'array'
                    then
                        source.document
                        #> '{relationships,campaign-messages,data}'
            end
        ), 0) as integer) as message_count,

        -- strings
        trim(source.document #>> '{attributes,name}') as campaign_name,
        source.document #>> '{attributes,status}' as campaign_status,
        source.document #>> '{attributes,send_strategy,method}'
            as send_strategy
    from source
    left join message_channels
        on
            source.account_id = message_channels.account_id
            and source.id = message_channels.campaign_id

)

select * from renamed
