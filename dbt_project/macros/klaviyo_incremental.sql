-- The linter's indentation of a Jinja set block inside an if block flips
-- between two answers on every fix: LT02 is off for this file only.
-- noqa: disable=LT02
{#-
    The rows the incremental Klaviyo intermediates (re)compute in a run,
    used as the body of their `events` CTE. On a full build (and before the
    first lookup snapshot exists, macros/lookup_snapshot.sql) every row;
    else the rows new since the last run and those a changed lookup entry
    concerns.
-#}

{#- a timestamp before any load: the watermark of an empty table -#}
{% macro epoch_start() -%}
    1970-01-01 00:00:00+00
{%- endmacro %}


{#-
    int_klaviyo__events: the staged events to resolve. The changed lookup
    entries are read first and inlined as literals (like the watermark), so
    the planner sees that a new campaign concerns a handful of events and
    probes the indexes; joined to the changed-lookups CTE it expected a
    campaign's average (thousands) and scanned the whole table.
-#}
{% macro klaviyo_events_to_resolve(snapshot, watermark) -%}
    {%- if snapshot is none -%}
        select * from {{ ref('stg_klaviyo__events') }}
    {%- else -%}
        {%- set changed = klaviyo_changed_event_lookups(snapshot) -%}
        {%- set since = watermark or epoch_start() -%}
        {%- set is_new -%}
            staged._loaded_at >= '{{ since }}'
            and (
                select done._loaded_at
                from {{ this }} as done
                where
                    done.account_id = staged.account_id
                    and done.event_id = staged.event_id
            ) is distinct from staged._loaded_at
        {%- endset -%}
        -- events staged since the last run (one already resolved with the
        -- same _loaded_at is skipped: a probe of the unique index)
        select staged.*
        from {{ ref('stg_klaviyo__events') }} as staged
        where {{ is_new }}
        {%- if changed %}
        union all
        -- and the other events a changed lookup entry concerns
        select staged.*
        from {{ ref('stg_klaviyo__events') }} as staged
        inner join {{ this }} as resolved
            on
                staged.account_id = resolved.account_id
                and staged.event_id = resolved.event_id
        where
            not ({{ is_new }})
            and (
                {%- for entry in changed %}
                {{ 'or ' if not loop.first }}(
                    resolved.account_id = '{{ entry.account_id }}'
                    and resolved.{{ entry.column }} in ({{ entry.key_list }})
                )
                {%- endfor %}
            )
        {%- endif %}
    {%- endif -%}
{%- endmacro %}


{#-
    The changed entries of int_klaviyo__events' lookups, per account and
    lookup: the event column they concern and the keys as a quoted list.
-#}
{% macro klaviyo_changed_event_lookups(snapshot) -%}
    {%- if not execute or snapshot is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        with lookups as ({{ klaviyo_event_lookups() }})
        select distinct lookup, account_id, lookup_key
        from ({{ changed_lookups('lookups', snapshot) }}) as changed
        where lookup_key is not null
        order by lookup, account_id, lookup_key
    {%- endset -%}
    {%- set columns = {
        'message_campaign': 'property_message_ref',
        'single_message': 'campaign_id',
        'metric': 'metric_id',
    } -%}
    {%- set grouped = {} -%}
    {%- for row in run_query(query).rows -%}
        {%- set group = (row[0], row[1]) -%}
        {%- do grouped.setdefault(group, []).append(
            "'" ~ (row[2] | replace("'", "''")) ~ "'"
        ) -%}
    {%- endfor -%}
    {%- set entries = [] -%}
    {%- for group, keys in grouped.items() -%}
        {%- do entries.append({
            'column': columns[group[0]],
            'account_id': group[1] | replace("'", "''"),
            'key_list': keys | join(', '),
        }) -%}
    {%- endfor -%}
    {{ return(entries) }}
{%- endmacro %}


{#-
    int_klaviyo__event_attribution: the events its run (re)computes
    conversions from, with recompute_from, the time from which the
    profile's conversions are recomputed (null on a full build: all).
    A touch credits only later conversions, so an event resolved since the
    last run changes the conversions of its profile at or after it; they
    need the profile's events from one attribution window (the longer of
    the email and SMS lookbacks) before. Conversions whose touch event was
    re-resolved, or credited to a campaign or flow message whose channel
    changed, are recomputed from their own time. An event without a
    profile stands for itself.
-#}
{% macro klaviyo_attribution_events(snapshot) -%}
    {%- if snapshot is none -%}
        select
            *,
            cast(null as {{ dbt.type_timestamp() }}) as recompute_from
        from {{ ref('int_klaviyo__events') }}
    {%- else -%}
        select * from {{ klaviyo_attribution_scope_relation() }}
    {%- endif -%}
{%- endmacro %}


{#-
    The temporary table holding the scope of an incremental attribution run,
    written by a pre-hook with fresh statistics: planned inside the model's
    query, its row count (thousands) would be estimated at a handful and the
    window functions over it joined by nested loops (150 s instead of 4 s
    for 25,000 conversions).
-#}
{% macro klaviyo_attribution_scope_relation() -%}
    {{ return(api.Relation.create(
        identifier='int_klaviyo__event_attribution__scope', type='table'
    )) }}
{%- endmacro %}


{#- pre-hook of int_klaviyo__event_attribution: the scope of its run -#}
{% macro klaviyo_write_attribution_scope(model_relation) -%}
    {%- set snapshot = lookup_snapshot(model_relation)
        if is_incremental() else none -%}
    {%- if snapshot is not none -%}
        {%- set watermark = load_watermark(
            model_relation, '_resolved_at',
            var('klaviyo__resolve_overlap_minutes') / 60.0
        ) -%}
        {%- set scope = klaviyo_attribution_scope_relation() -%}
        {#- a recorded conversion recomputed from its own time -#}
        {%- set conversion_start -%}
            attributed.account_id,
            attributed.profile_id,
            case
                when attributed.profile_id is null
                    then attributed.conversion_event_id
            end as event_id,
            attributed.converted_at as occurred_at
        {%- endset %}
        drop table if exists {{ scope }};
        create temporary table {{ scope }} as
        with

        channel_lookups as (
            {{ klaviyo_attribution_lookups() }}
        ),

        {%- set lookback_hours = [
            var('klaviyo__email_attribution_lookback'),
            var('klaviyo__sms_attribution_lookback'),
        ] | max -%}
        changed_lookups as (
            {{ changed_lookups('channel_lookups', snapshot) }}
        ),

        resolved_since as (
            select * from {{ ref('int_klaviyo__events') }}
            where _resolved_at >= '{{ watermark or epoch_start() }}'
        ),

        starts as (
            select
                account_id,
                profile_id,
                case when profile_id is null then event_id end as event_id,
                occurred_at
            from resolved_since
            union all
            select {{ conversion_start }}
            from resolved_since
            inner join {{ model_relation }} as attributed
                on
                    resolved_since.account_id = attributed.account_id
                    and resolved_since.event_id = attributed.touch_event_id
            union all
            select {{ conversion_start }}
            from changed_lookups
            inner join {{ model_relation }} as attributed
                on
                    changed_lookups.account_id = attributed.account_id
                    and changed_lookups.lookup_key
                    = attributed.attributed_campaign_id
            where changed_lookups.lookup = 'campaign'
            union all
            select {{ conversion_start }}
            from changed_lookups
            inner join {{ model_relation }} as attributed
                on
                    changed_lookups.account_id = attributed.account_id
                    and changed_lookups.lookup_key
                    = attributed.attributed_flow_id
                    and changed_lookups.lookup_subkey
                    is not distinct from attributed.attributed_flow_message_id
            where changed_lookups.lookup = 'flow_message'
        ),

        touched as (
            select
                account_id,
                profile_id,
                event_id,
                min(occurred_at) as recompute_from
            from starts
            group by account_id, profile_id, event_id
        )

        select
            resolved.*,
            touched.recompute_from
        from {{ ref('int_klaviyo__events') }} as resolved
        inner join touched
            on
                resolved.account_id = touched.account_id
                and resolved.profile_id = touched.profile_id
        where
            resolved.occurred_at >= {{ dbt.dateadd(
                'hour', -1 * lookback_hours, 'touched.recompute_from'
            ) }}
        union all
        select
            resolved.*,
            touched.recompute_from
        from {{ ref('int_klaviyo__events') }} as resolved
        inner join touched
            on
                resolved.account_id = touched.account_id
                and resolved.event_id = touched.event_id
        where resolved.profile_id is null
;
        analyze {{ scope }}
    {%- endif -%}
{%- endmacro %}


{#-
    Pre-hook of int_klaviyo__event_attribution: delete the rows of events
    re-resolved since the last run that are no longer conversions (their
    metric's name changed), which the run's delete+insert would not reach.
-#}
{% macro klaviyo_delete_lapsed_conversions(model_relation) -%}
    {#- a table without a snapshot predates this model version: the run
        fails on its columns (on_schema_change) or rebuilds it -#}
    {%- if is_incremental() and lookup_snapshot(model_relation) is not none -%}
        {%- set watermark = load_watermark(
            model_relation, '_resolved_at',
            var('klaviyo__resolve_overlap_minutes') / 60.0
        ) -%}
        {%- if watermark is not none -%}
            delete from {{ model_relation }}
            where exists (
                select 1 from {{ ref('int_klaviyo__events') }} as resolved
                where
                    resolved._resolved_at >= '{{ watermark }}'
                    and resolved.account_id = {{ model_relation }}.account_id
                    and resolved.event_id = {{ model_relation }}.conversion_event_id
                    and resolved.event_kind <> 'conversion'
            )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#-
    int_klaviyo__message_engagement is recomputed profile by profile: the
    profiles with events (re)resolved or conversions (re)attributed since its
    last run (less var klaviyo__resolve_overlap_minutes). Its pre-hook keeps
    them in a temporary table and deletes their rows (a message a profile no
    longer engages with leaves no row behind); the model then inserts their
    rows anew. Events without a profile count as one profile (null).
-#}
{% macro klaviyo_engagement_profiles_relation() -%}
    {{ return(api.Relation.create(
        identifier='int_klaviyo__message_engagement__profiles', type='table'
    )) }}
{%- endmacro %}


{% macro klaviyo_engagement_is_incremental(model_relation) -%}
    {#- incremental, and the table has the columns of this version -#}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(model_relation)
        | map(attribute='name') | list -%}
    {{ return('_resolved_at' in columns) }}
{%- endmacro %}


{#- pre-hook of int_klaviyo__message_engagement -#}
{% macro klaviyo_replace_engagement_profiles(model_relation) -%}
    {%- if klaviyo_engagement_is_incremental(model_relation) -%}
        {%- set watermark = load_watermark(
            model_relation, '_resolved_at',
            var('klaviyo__resolve_overlap_minutes') / 60.0
        ) or epoch_start() -%}
        {%- set touched = klaviyo_engagement_profiles_relation() -%}
        drop table if exists {{ touched }};
        create temporary table {{ touched }} as
        select
            account_id,
            profile_id
        from {{ ref('int_klaviyo__events') }}
        where _resolved_at >= '{{ watermark }}'
        union
        select
            account_id,
            profile_id
        from {{ ref('int_klaviyo__event_attribution') }}
        where _resolved_at >= '{{ watermark }}';
        analyze {{ touched }};
        delete from {{ model_relation }} as engagement
        using {{ touched }} as touched
        where
            touched.account_id = engagement.account_id
            and touched.profile_id = engagement.profile_id;
        delete from {{ model_relation }} as engagement
        where
            engagement.profile_id is null
            and exists (
                select 1 from {{ touched }} as touched
                where
                    touched.account_id = engagement.account_id
                    and touched.profile_id is null
            )
    {%- endif -%}
{%- endmacro %}


{#- the events (or attributed conversions) of the profiles to recompute -#}
{% macro klaviyo_engagement_rows(model_relation, relation_name) -%}
    {%- if klaviyo_engagement_is_incremental(model_relation) -%}
        select source_rows.*
        from {{ ref(relation_name) }} as source_rows
        inner join {{ klaviyo_engagement_profiles_relation() }} as touched
            on
                source_rows.account_id = touched.account_id
                and source_rows.profile_id = touched.profile_id
        union all
        select source_rows.*
        from {{ ref(relation_name) }} as source_rows
        where
            source_rows.profile_id is null
            and exists (
                select 1
                from {{ klaviyo_engagement_profiles_relation() }} as touched
                where
                    touched.account_id = source_rows.account_id
                    and touched.profile_id is null
            )
    {%- else -%}
        select * from {{ ref(relation_name) }}
    {%- endif -%}
{%- endmacro %}
