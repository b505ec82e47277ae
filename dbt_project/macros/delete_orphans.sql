{#-
    Delete the rows of target whose column value no longer occurs in parent
    (e.g. the staged events of a Klaviyo account removed from raw), for a
    column that leads a btree index of both tables and has few distinct
    values. Used as a post-hook of incremental models.

    Postgres has no skip scan, so `select distinct account_id` reads every
    row (4.3 s for the post-hook at 2M events); this form walks the index
    (one probe per value) and, when nothing is orphaned, deletes through an
    index scan of an empty array instead of a scan of the table. Other
    engines: the plain form.
-#}
{% macro delete_orphans(target, column, parent) -%}
    {{ return(adapter.dispatch('delete_orphans', 'marketing_warehouse')(
        target, column, parent
    )) }}
{%- endmacro %}

{% macro default__delete_orphans(target, column, parent) -%}
    delete from {{ target }}
    where {{ column }} in (
        select staged.{{ column }}
        from (select distinct {{ column }} from {{ target }}) as staged
        where not exists (
            select 1 from {{ parent }} as parent_rows
            where parent_rows.{{ column }} = staged.{{ column }}
        )
    )
{%- endmacro %}

{% macro postgres__delete_orphans(target, column, parent) -%}
    with recursive staged (value) as (
        (
            select {{ column }} from {{ target }}
            where {{ column }} is not null
            order by {{ column }}
            limit 1
        )
        union all
        select (
            select next_row.{{ column }} from {{ target }} as next_row
            where next_row.{{ column }} > staged.value
            order by next_row.{{ column }}
            limit 1
        )
        from staged
        where staged.value is not null
    ),

    orphaned as (
        select staged.value
        from staged
        where
            staged.value is not null
            and not exists (
                select 1 from {{ parent }} as parent_rows
                where parent_rows.{{ column }} = staged.value
            )
    )
    -- the exists is a one-time filter: with nothing orphaned the table is
    -- not scanned at all
    delete from {{ target }}
    where
        exists (select 1 from orphaned)
        and {{ column }} = any(array(select orphaned.value from orphaned))
{%- endmacro %}
