{#-
    Custom schema names are used verbatim (no "<target_schema>_" prefix), so
    the warehouse has exactly the schemas of docs/CONTRACTS.md: staging,
    intermediate, marts and seeds. Nodes without a custom schema land in the
    target schema of the profile.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
