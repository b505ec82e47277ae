{#-
    Post-hook of incremental models: refresh the planner statistics of the
    column later runs filter on (a load or resolve time). An incremental run
    appends rows newer than anything the last ANALYZE saw (autovacuum
    analyzes only after ~10 % of a table changed), so the next model's
    filter on the newest times was estimated at one row and planned as
    nested loops over thousands. Only that column, with a small statistics
    target (a 3,000-row sample): the new rows share one or a few times, which
    a small sample still sees; 12 ms instead of 250 ms for the whole table
    at 1M rows.
-#}
{% macro refresh_statistics(relation, column) -%}
    {{ return(adapter.dispatch('refresh_statistics', 'marketing_warehouse')(
        relation, column
    )) }}
{%- endmacro %}

{% macro default__refresh_statistics(relation, column) -%}
    analyze {{ relation }}
{%- endmacro %}

{% macro postgres__refresh_statistics(relation, column) -%}
    alter table {{ relation }} alter column {{ column }} set statistics 10;
    analyze {{ relation }} ({{ column }})
{%- endmacro %}

{% macro spark__refresh_statistics(relation, column) -%}
    analyze table {{ relation }} compute statistics for columns {{ column }}
{%- endmacro %}
