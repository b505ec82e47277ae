-- Klaviyo profiles (marts.dim_email_profiles, no PII) counted per account and month the
-- profile was created. "Engaged in the last 90 days" is relative to the newest event of
-- the account, so a stale sync does not read as a dying list.
with latest as (
    select
        account_id,
        max(last_event_at) as last_event_at
    from marts.dim_email_profiles
    group by account_id
)

select
    p.account_id,
    cast(date_trunc('month', p.created_at at time zone 'UTC') as date) as created_month,
    count(*) as profiles,
    count(p.email_sha256) as with_email,
    count(p.phone_number_sha256) as with_phone,
    count(p.customer_id) as linked_to_customer,
    count(*) filter (where p.last_engaged_at is not null) as ever_engaged,
    count(*) filter (
        where p.last_engaged_at > l.last_event_at - interval '90 days'
    ) as engaged_90d,
    count(*) filter (where p.orders > 0) as with_orders,
    sum(p.messages_received) as messages_received,
    sum(p.orders) as orders,
    sum(p.order_revenue) as order_revenue,
    sum(p.attributed_orders) as attributed_orders,
    sum(p.attributed_revenue) as attributed_revenue
from marts.dim_email_profiles as p
inner join latest as l on p.account_id = l.account_id
group by p.account_id, cast(date_trunc('month', p.created_at at time zone 'UTC') as date)
