{#-
    The load-time watermark of an incremental run: the newest value of
    column in relation minus overlap_hours, as text (none when the relation
    is empty, and at parse time). Models inline it as a literal, so the
    planner sees the value and uses the index on the raw table's load time
    (a subquery would leave it guessing a third of the table).
-#}
{% macro load_watermark(relation, column, overlap_hours) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select cast({{ dbt.dateadd(
            'hour', -1 * overlap_hours, 'max(' ~ column ~ ')'
        ) }} as {{ dbt.type_string() }})
        from {{ relation }}
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{%- endmacro %}
