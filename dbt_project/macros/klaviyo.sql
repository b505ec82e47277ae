{#-
    Helpers of the Klaviyo models (staging/klaviyo, intermediate/klaviyo,
    marts/email). Metric names and windows are vars with defaults in
    dbt_project.yml (see dbt_project/models/marts/email/README.md).
-#}

{#- A quoted SQL list: ('Opened Email', 'Clicked Email'); (null) when empty. -#}
{% macro klaviyo_sql_list(values) -%}
    {%- set quoted = [] -%}
    {%- for value in values -%}
        {%- set escaped = value | string | replace("'", "''") -%}
        {%- do quoted.append("'" ~ escaped ~ "'") -%}
    {%- endfor -%}
    ({{ quoted | join(', ') if quoted else 'null' }})
{%- endmacro %}

{#-
    A jsonb value as numeric(18,4): JSON numbers, and strings that look like
    a plain decimal ("12.50"); anything else (objects, "abc", null) -> null.
-#}
{% macro klaviyo_json_money(expression) -%}
    cast(case
        when jsonb_typeof({{ expression }}) = 'number'
            then cast({{ expression }} #>> '{}' as numeric)
        when
            jsonb_typeof({{ expression }}) = 'string'
            and trim({{ expression }} #>> '{}') ~ '^-?[0-9]+(\.[0-9]+)?$'
            then cast(trim({{ expression }} #>> '{}') as numeric)
    end as {{ type_money() }})
{%- endmacro %}

{#- Hex sha256 of a text expression (lower-case, trimmed first). -#}
{% macro klaviyo_hash_pii(expression) -%}
    encode(sha256(convert_to(lower(trim({{ expression }})), 'UTF8')), 'hex')
{%- endmacro %}

{#-
    The kind of a Klaviyo metric, from its name: conversion (var
    klaviyo__conversion_metric), received, opened, clicked, bounced, failed,
    unsubscribed, spam_complaint (vars klaviyo__<kind>_metrics), else other.
-#}
{% macro klaviyo_metric_kind(metric_name, indent=8) -%}
    {%- set whens = [
        'when ' ~ metric_name ~ " = '"
        ~ var('klaviyo__conversion_metric') ~ "' then 'conversion'"
    ] -%}
    {%- for kind in [
        'received', 'opened', 'clicked', 'bounced', 'failed',
        'unsubscribed', 'spam_complaint',
    ] -%}
        {%- do whens.append(
            'when ' ~ metric_name ~ ' in '
            ~ klaviyo_sql_list(var('klaviyo__' ~ kind ~ '_metrics'))
            ~ " then '" ~ kind ~ "'"
        ) -%}
    {%- endfor -%}
    {%- set newline = '\n' ~ ' ' * (indent + 4) -%}
    {%- set end_line = '\n' ~ ' ' * indent -%}
    case{{ newline }}{{ whens | join(newline) }}{{ newline }}else 'other'
    {{- end_line }}end
{%- endmacro %}

{#-
    The message channel a metric name speaks of: 'sms' when the name
    mentions SMS, 'email' when it mentions email, else null (e.g.
    "Unsubscribed", "Placed Order").
-#}
{% macro klaviyo_metric_channel(metric_name) -%}
    case
        when {{ metric_name }} ilike '%sms%' then 'sms'
        when {{ metric_name }} ilike '%email%' then 'email'
    end
{%- endmacro %}

{#-
    The message measures of the email marts, aggregated over rows of
    int_klaviyo__message_engagement (one per profile and message); unique
    counts are distinct profiles, so they hold at any grain:
    recipients (received, bounced or failed), delivered, bounces,
    unique/total opens and clicks, unsubscribes, spam complaints,
    attributed orders and revenue.
-#}
{% macro klaviyo_message_measures(indent=8) -%}
    {%- set profiles = 'count(distinct profile_id) filter (where ' -%}
    {%- set items = [
        profiles ~ 'received_count > 0 or bounced_count > 0'
            ~ ' or failed_count > 0) as recipients',
        profiles ~ 'received_count > 0) as delivered',
        profiles ~ 'bounced_count > 0) as bounces',
        profiles ~ 'open_count > 0) as unique_opens',
        'sum(open_count) as total_opens',
        profiles ~ 'click_count > 0) as unique_clicks',
        'sum(click_count) as total_clicks',
        profiles ~ 'unsubscribe_count > 0) as unsubscribes',
        profiles ~ 'spam_complaint_count > 0) as spam_complaints',
        'sum(attributed_order_count) as attributed_orders',
        'sum(attributed_revenue) as attributed_revenue',
    ] -%}
    {{ items | join(',\n' ~ ' ' * indent) }}
{%- endmacro %}

{#-
    The measures of klaviyo_message_measures, cast to the mart types (counts
    bigint, money numeric(18,4), 0 when there is no engagement row), then the
    rates (numeric(28,6), null when the denominator is 0):
    delivery_rate = delivered / recipients, bounce_rate = bounces /
    recipients, open_rate = unique_opens / delivered, click_rate =
    unique_clicks / delivered, click_to_open_rate = unique_clicks /
    unique_opens, unsubscribe_rate and spam_complaint_rate = ... / delivered,
    revenue_per_recipient = attributed_revenue / recipients,
    average_order_value = attributed_revenue / attributed_orders.
-#}
{% macro klaviyo_message_metrics(relation, indent=8) -%}
    {%- set counts = [
        'recipients', 'delivered', 'bounces', 'unique_opens', 'total_opens',
        'unique_clicks', 'total_clicks', 'unsubscribes', 'spam_complaints',
        'attributed_orders',
    ] -%}
    {%- set items = [] -%}
    {%- for name in counts -%}
        {%- do items.append(
            'cast(coalesce(' ~ relation ~ '.' ~ name ~ ', 0) as '
            ~ dbt.type_bigint() ~ ') as ' ~ name
        ) -%}
    {%- endfor -%}
    {%- do items.append(
        'cast(coalesce(' ~ relation ~ '.attributed_revenue, 0) as '
        ~ type_money() ~ ') as attributed_revenue'
    ) -%}
    {%- set rates = [
        ('delivery_rate', 'delivered', 'recipients'),
        ('bounce_rate', 'bounces', 'recipients'),
        ('open_rate', 'unique_opens', 'delivered'),
        ('click_rate', 'unique_clicks', 'delivered'),
        ('click_to_open_rate', 'unique_clicks', 'unique_opens'),
        ('unsubscribe_rate', 'unsubscribes', 'delivered'),
        ('spam_complaint_rate', 'spam_complaints', 'delivered'),
        ('revenue_per_recipient', 'attributed_revenue', 'recipients'),
        ('average_order_value', 'attributed_revenue', 'attributed_orders'),
    ] -%}
    {%- for name, numerator, denominator in rates -%}
        {%- do items.append(
            'cast(' ~ safe_divide(
                relation ~ '.' ~ numerator, relation ~ '.' ~ denominator
            ) ~ ' as ' ~ dbt.type_numeric() ~ ') as ' ~ name
        ) -%}
    {%- endfor -%}
    {{ items | join(',\n' ~ ' ' * indent) }}
{%- endmacro %}

{#- A jsonb count as bigint (see klaviyo_json_money; decimals are rounded). -#}
{% macro klaviyo_json_count(expression) -%}
    cast(round({{ klaviyo_json_money(expression) }}) as {{ dbt.type_bigint() }})
{%- endmacro %}
