{#-
    Windowed data tests (var data_tests_since, see dbt_project/README.md
    "Decisions"). A data test reads its model through get_where_subquery;
    when data_tests_since is a timestamp and the tested model or source
    declares meta.test_window_column (a load-time column such as _loaded_at),
    the test reads only the rows loaded since then: the rows this build
    added. Unset (the default; full refreshes, CI, a first build), every
    test reads every row. A test's own `where` config still applies.
    One macro on purpose: dbt renders generic tests at parse time with only
    the dispatched macro in scope.
-#}

{% macro default__get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do filters.append('(' ~ where ~ ')') -%}
    {%- endif -%}

    {%- set since = var('data_tests_since', none) -%}
    {%- if execute and since is not none -%}
        {%- if not modules.re.match(
            '^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9:.]+([+-][0-9:]+|Z)?)?$', since | string
        ) -%}
            {%- do exceptions.raise_compiler_error(
                "var data_tests_since must be a timestamp like"
                ~ " '2026-12-08 06:00:00+00', got '" ~ since ~ "'"
            ) -%}
        {%- endif -%}
        {#- the tested model or source: the dependency read as `relation` -#}
        {%- for unique_id in model.depends_on.nodes -%}
            {%- set node = graph.nodes.get(unique_id)
                or graph.sources.get(unique_id) -%}
            {%- set name = node.get('alias') or node.get('identifier')
                or node.name if node else none -%}
            {%- if node
                and name | lower == relation.identifier | lower
                and node.schema | lower == relation.schema | lower -%}
                {%- set meta = node.get('config', {}).get('meta', {})
                    or node.get('meta', {}) -%}
                {%- if meta.get('test_window_column') -%}
                    {%- do filters.append(
                        adapter.quote(meta.get('test_window_column'))
                        ~ " >= '" ~ since ~ "'"
                    ) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}

    {%- if filters -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ filters | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
