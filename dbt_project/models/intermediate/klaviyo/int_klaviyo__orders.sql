{{ config(materialized='table') }}

-- The orders Klaviyo knows of, as the shop export would show them: one row
-- per order id from "Placed Order" (purchase) and "Cancelled Order"
-- (cancellation) events. The order id is $event_id, which e-commerce
-- integrations set to the shop's order id (else the Klaviyo event id); a
-- cancellation's id follows the export's convention, 'C' + the id (kept as
-- it is when it starts with 'C' already). The customer key is the shop's:
-- the profile's external_id (or custom property customer_id), else
-- 'email:' + sha256 of the profile's email; null when the profile has
-- neither (a guest order). Timestamps are shop-local (var
-- klaviyo__timezone), like the export's.
with

order_events as (

    select * from {{ ref('int_klaviyo__events') }}
    where
        metric_name in (
            '{{ var("klaviyo__conversion_metric") }}',
            '{{ var("klaviyo__cancelled_order_metric") }}'
        )

),

profiles as (

    select * from {{ ref('stg_klaviyo__profiles') }}

),

keyed as (

    select
        order_events.account_id,
        order_events.event_id,
        coalesce(order_events.property_event_id, order_events.event_id)
            as source_order_id,
        order_events.metric_name
        = '{{ var("klaviyo__cancelled_order_metric") }}' as is_cancellation,
        coalesce(
            profiles.customer_id, 'email:' || profiles.email_sha256
        ) as customer_id,
        cast(
            order_events.occurred_at
            at time zone '{{ var("klaviyo__timezone") }}' as timestamp
        ) as ordered_at,
        profiles.country,
        order_events.item_count,
        coalesce(order_events.event_value, 0) as order_value
    from order_events
    left join profiles
        on
            order_events.account_id = profiles.account_id
            and order_events.profile_id = profiles.profile_id

),

identified as (

    select
        *,
        case
            when is_cancellation and source_order_id not like 'C%'
                then 'C' || source_order_id
            else source_order_id
        end as order_id
    from keyed

),

ranked as (

    -- the same order from two accounts (or sent twice) counts once: the
    -- earliest event
    select
        *,
        row_number() over (
            partition by order_id
            order by ordered_at asc, account_id asc, event_id asc
        ) as order_rank
    from identified

),

orders as (

    select
        order_id,
        account_id,
        event_id,
        is_cancellation,
        customer_id,
        ordered_at,
        country,
        case
            when is_cancellation then -abs(item_count) else item_count
        end as items,
        cast(
            case
                when is_cancellation then -abs(order_value) else order_value
            end as {{ type_money() }}
        ) as amount
    from ranked
    where order_rank = 1

)

select * from orders
