{#-
    Post-hook of incremental models: refresh the table's planner statistics.
    An incremental run appends rows newer than anything the last ANALYZE saw
    (autovacuum analyzes only after ~10 % of a table changed), so the next
    model's filter on the newest load or resolve times would be estimated at
    one row and planned as nested loops over thousands. ANALYZE samples a
    fixed number of rows: well under a second at any size.
-#}
{% macro refresh_statistics(relation) -%}
    {{ return(adapter.dispatch('refresh_statistics', 'marketing_warehouse')(
        relation
    )) }}
{%- endmacro %}

{% macro default__refresh_statistics(relation) -%}
    analyze {{ relation }}
{%- endmacro %}

{% macro spark__refresh_statistics(relation) -%}
    analyze table {{ relation }} compute statistics
{%- endmacro %}
