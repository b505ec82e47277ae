{#-
    md5 hash of the given column expressions, null-safe and unambiguous:
    each value is cast to text, nulls become a sentinel, and the parts are
    joined with '|'. Same idea as dbt_utils.generate_surrogate_key, written
    here because the project takes no package dependencies.
-#}
{% macro generate_surrogate_key(expressions) -%}
    {%- set parts = [] -%}
    {%- for expression in expressions -%}
        {%- do parts.append(
            "coalesce(cast(" ~ expression ~ " as "
            ~ dbt.type_string() ~ "), '_dbt_null_')"
        ) -%}
    {%- endfor -%}
    {{ dbt.hash(parts | join(" || '|' || ")) }}
{%- endmacro %}
