{#-
    Division that never raises: a zero (or null) denominator gives null.
    The numerator is cast to numeric first so that integer / integer is not
    truncated by integer division.
-#}
{% macro safe_divide(numerator, denominator) -%}
    cast({{ numerator }} as {{ dbt.type_numeric() }}) / nullif({{ denominator }}, 0)
{%- endmacro %}
