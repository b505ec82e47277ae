-- The messages of each Klaviyo campaign: every id listed in the campaign's
-- relationships.campaign-messages, with label, channel and subject when the
-- message resource itself came back under document.included.
with

source as (

    select * from {{ source('klaviyo', 'campaigns') }}

),

listed as (

    select
        source.account_id,
        source.id as campaign_id,
        listed_messages.list_number,
        listed_messages.reference ->> 'id' as campaign_message_id
    from source
    cross join lateral jsonb_array_elements(
        case
            when
                jsonb_typeof(
                    source.document #> '{relationships,campaign-messages,data}'
                ) = 'array'
                then
                    source.document
                    #> '{relationships,campaign-messages,data}'
            else cast('[]' as jsonb)
        end
    ) with ordinality as listed_messages (reference, list_number)

),

included as (

    select
        source.account_id,
        source.id as campaign_id,
        included_messages.message,
        included_messages.message ->> 'id' as campaign_message_id
    from source
    cross join
        lateral jsonb_array_elements(
            case
                when jsonb_typeof(source.document -> 'included') = 'array'
                    then source.document -> 'included'
                else cast('[]' as jsonb)
            end
        ) as included_messages (message)
    where included_messages.message ->> 'type' = 'campaign-message'

),

messages as (

    select
        -- position in the campaign's list of messages
        listed.list_number as message_position,

        -- timestamps
        cast(included.message #>> '{attributes,created_at}' as timestamptz)
            as created_at,
        cast(included.message #>> '{attributes,updated_at}' as timestamptz)
            as updated_at,

        -- ids
        coalesce(listed.account_id, included.account_id) as account_id,
        coalesce(listed.campaign_id, included.campaign_id) as campaign_id,
        coalesce(listed.campaign_message_id, included.campaign_message_id)
            as campaign_message_id,

        -- strings
        included.message #>> '{attributes,definition,channel}' as channel,
        included.message #>> '{attributes,definition,label}' as message_label,
        included.message #>> '{attributes,definition,content,subject}'
            as subject
    from listed
    full outer join included
        on
            listed.account_id = included.account_id
            and listed.campaign_id = included.campaign_id
            and listed.campaign_message_id = included.campaign_message_id

)

select * from messages
