{#-
    Lookup snapshots of incremental models (dbt_project/README.md,
    "Decisions"). An incremental model that resolves its rows through small
    lookups (metric names, campaign messages, channels) keeps the lookups it
    last resolved with in a companion table <model>__lookups, written by a
    post-hook. The next run compares the current lookups with the snapshot
    and re-resolves only the rows a changed lookup entry concerns, so an
    incremental run gives what a full rebuild gives. Lookup rows have the
    columns lookup (its kind), account_id, lookup_key, lookup_value.
-#}

{% macro lookup_snapshot(model_relation) -%}
    {#- the model's snapshot relation, none when there is none yet -#}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(
        database=model_relation.database,
        schema=model_relation.schema,
        identifier=model_relation.identifier ~ '__lookups'
    )) }}
{%- endmacro %}


{% macro save_lookup_snapshot(model_relation, lookups_sql) -%}
    {#- post-hook: replace the snapshot with the lookups of this run -#}
    {%- set snapshot = api.Relation.create(
        database=model_relation.database,
        schema=model_relation.schema,
        identifier=model_relation.identifier ~ '__lookups',
        type='table'
    ) -%}
    drop table if exists {{ snapshot }};
    create table {{ snapshot }} as {{ lookups_sql }}
{%- endmacro %}


{% macro changed_lookups(current_cte, snapshot) -%}
    {#- lookup rows added, removed or changed since the snapshot -#}
    (
        select * from {{ current_cte }}
        except
        select * from {{ snapshot }}
    )
    union
    (
        select * from {{ snapshot }}
        except
        select * from {{ current_cte }}
    )
{%- endmacro %}
