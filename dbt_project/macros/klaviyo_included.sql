{#-
    The first resource of a type in a Klaviyo document's "included" array
    (JSON:API: the resources the API returned beside the main one), in the
    order the API listed them; null when there is none or "included" is not
    an array. id_expression, when given, also requires the resource's id to
    equal it (a text expression).

    Evaluated per row: the document is read once, with no join of the
    unpacked array back to the rows (that join spilled 8.7 GB of temp files
    for 2M events, and failed at 10M). Postgres: jsonb_path_query_first in
    strict mode, silent (3x faster than jsonb_array_elements with
    ordinality in a scalar subquery); other engines implement their own
    version through adapter.dispatch.
-#}
{% macro klaviyo_first_included(document, resource_type, id_expression=none) -%}
    {{ return(adapter.dispatch('klaviyo_first_included', 'marketing_warehouse')(
        document, resource_type, id_expression
    )) }}
{%- endmacro %}

{% macro default__klaviyo_first_included(
    document, resource_type, id_expression
) -%}
    {%- if id_expression is none -%}
        jsonb_path_query_first(
            {{ document }},
            'strict $.included[*] ? (@.type == "{{ resource_type }}")',
            cast('{}' as jsonb),
            true
        )
    {%- else -%}
        jsonb_path_query_first(
            {{ document }},
            'strict $.included[*] ? (@.type == "{{ resource_type }}" && @.id == $id)',
            jsonb_build_object('id', {{ id_expression }}),
            true
        )
    {%- endif -%}
{%- endmacro %}
