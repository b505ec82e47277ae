{#-
    on-run-start hook (dbt_project.yml): creates schema klaviyo_raw and the
    empty Klaviyo stream tables when they do not exist yet, with exactly the
    DDL of docs/CONTRACTS.md ("Klaviyo"), so the dbt project builds on a
    warehouse where no Klaviyo sync ever ran (Klaviyo is optional). Existing
    tables are never touched. The loader in orchestration/klaviyo/ owns the
    schema; its state tables (_stream_state, _syncs) are its business.
    Set var klaviyo__create_raw_tables: false to skip (e.g. a read-only role).
-#}
{% macro ensure_klaviyo_raw() -%}
    {%- set streams = [
        'metrics', 'campaigns', 'flows', 'lists', 'profiles', 'events',
        'campaign_values_reports',
    ] -%}
    {%- set columns -%}
    account_id text not null,
    id text not null,
    cursor_value timestamptz,
    document jsonb not null,
    _sync_id text not null,
    _loaded_at timestamptz not null default now(),
    primary key (account_id, id)
    {%- endset -%}
    {%- set statements = ['create schema if not exists klaviyo_raw'] -%}
    {%- for stream in streams -%}
        {%- do statements.append(
            'create table if not exists klaviyo_raw.' ~ stream
            ~ ' (\n    ' ~ columns | trim ~ '\n)'
        ) -%}
    {%- endfor -%}
    {%- if var('klaviyo__create_raw_tables', true) -%}
        {{ statements | join(';\n') }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
