{#-
    The type of money amounts in the warehouse: numeric(18,4), the precision
    the raw layer keeps (docs/CONTRACTS.md). Marts declare the same type in
    their contracts.
-#}
{% macro type_money() -%}
    numeric(18, 4)
{%- endmacro %}
