{#-
    JSON access by path, for models that unpack raw API documents
    (staging/klaviyo). path is the keys separated by commas, e.g.
    'attributes,event_properties,$value'.
      json_text(expression, path)  -> the value as text (null when absent;
                                      objects and arrays as JSON text)
      json_value(expression, path) -> the JSON value itself
    Postgres: the jsonb path operators #>> and #>; other engines implement
    their own version through adapter.dispatch (e.g. Spark's
    get_json_object).
-#}
{% macro json_text(expression, path) -%}
    {{ return(adapter.dispatch('json_text', 'marketing_warehouse')(
        expression, path
    )) }}
{%- endmacro %}

{% macro default__json_text(expression, path) -%}
    {{ expression }} #>> '{ {{- path -}} }'
{%- endmacro %}

{% macro json_value(expression, path) -%}
    {{ return(adapter.dispatch('json_value', 'marketing_warehouse')(
        expression, path
    )) }}
{%- endmacro %}

{% macro default__json_value(expression, path) -%}
    {{ expression }} #> '{ {{- path -}} }'
{%- endmacro %}
