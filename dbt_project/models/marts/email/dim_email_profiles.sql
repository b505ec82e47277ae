{{
    config(
        indexes=[
            {'columns': ['email_sha256']},
            {'columns': ['customer_id']},
        ]
    )
}}

-- Klaviyo profiles without PII: email and phone number as sha256 of
-- lower(trim(value)) (names, addresses and custom properties stay in
-- klaviyo_raw), with lifetime engagement and order counts.
with

profiles as (

    select * from {{ ref('stg_klaviyo__profiles') }}

),

events as (

    select * from {{ ref('int_klaviyo__events') }}

),

attribution as (

    select * from {{ ref('int_klaviyo__event_attribution') }}

),

event_counts as (

    select
        account_id,
        profile_id,
        count(*) filter (where event_kind = 'received') as messages_received,
        count(*) filter (where event_kind = 'bounced') as bounces,
        count(*) filter (where event_kind = 'opened') as total_opens,
        count(*) filter (where event_kind = 'clicked') as total_clicks,
        count(*) filter (where event_kind = 'unsubscribed') as unsubscribes,
        count(*) filter (where event_kind = 'spam_complaint')
            as spam_complaints,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at,
        max(occurred_at) filter (where event_kind in ('opened', 'clicked'))
            as last_engaged_at
    from events
    where profile_id is not null
    group by account_id, profile_id

),

order_counts as (

    select
        account_id,
        profile_id,
        count(*) as orders,
        sum(conversion_value) as order_revenue,
        count(*) filter (where attribution_type <> 'unattributed')
            as attributed_orders,
        sum(
            case
                when attribution_type <> 'unattributed' then conversion_value
                else 0
            end
        ) as attributed_revenue
    from attribution
    where profile_id is not null
    group by account_id, profile_id

),

final as (

    select
        profiles.account_id,
        profiles.profile_id,
        profiles.email_sha256,
        profiles.phone_number_sha256,
        profiles.external_id,
        profiles.customer_id,
        profiles.country,
        profiles.time_zone,
        profiles.locale,
        profiles.created_at,
        profiles.updated_at,
        event_counts.first_event_at,
        event_counts.last_engaged_at,
        coalesce(event_counts.last_event_at, profiles.last_event_at)
            as last_event_at,
        coalesce(event_counts.messages_received, 0) as messages_received,
        coalesce(event_counts.bounces, 0) as bounces,
        coalesce(event_counts.total_opens, 0) as total_opens,
        coalesce(event_counts.total_clicks, 0) as total_clicks,
        coalesce(event_counts.unsubscribes, 0) as unsubscribes,
        coalesce(event_counts.spam_complaints, 0) as spam_complaints,
        cast(coalesce(order_counts.orders, 0) as {{ dbt.type_bigint() }})
            as orders,
        cast(coalesce(order_counts.order_revenue, 0) as {{ type_money() }})
            as order_revenue,
        cast(
            coalesce(order_counts.attributed_orders, 0)
            as {{ dbt.type_bigint() }}
        ) as attributed_orders,
        cast(
            coalesce(order_counts.attributed_revenue, 0) as {{ type_money() }}
        ) as attributed_revenue
    from profiles
    left join event_counts
        on
            profiles.account_id = event_counts.account_id
            and profiles.profile_id = event_counts.profile_id
    left join order_counts
        on
            profiles.account_id = order_counts.account_id
            and profiles.profile_id = order_counts.profile_id

)

select * from final
