{#-
    First day of the calendar month of a date or timestamp expression, as a
    date (dbt.date_trunc gives a timestamp on Postgres).
-#}
{% macro month_start(expression) -%}
    cast({{ dbt.date_trunc('month', expression) }} as date)
{%- endmacro %}
