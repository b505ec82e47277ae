{#-
    Models that copy raw lines file by file (int_order_lines_classified) ask
    the loader's registry which files exist instead of scanning the lines:
    raw.load_registry has one row per file version, status 'loaded' while
    its rows are in the raw table (a re-delivered file supersedes its earlier
    version, whose raw rows the loader deletes). `source` there is the raw
    table's name. The registry is loader metadata beside the raw tables, not
    a source of rows, so it is addressed beside the source relation.
-#}

{% macro load_registry(raw_relation) -%}
    {{ return(api.Relation.create(
        database=raw_relation.database,
        schema=raw_relation.schema,
        identifier='load_registry'
    )) }}
{%- endmacro %}

{#-
    The file ids of raw_relation that are loaded but have no line in target
    yet (one index probe per file; the distinct _file_id of ten million lines
    took 30 s). A list of integers; empty at parse time.
-#}
{% macro new_loaded_files(target, raw_relation) -%}
    {%- set query -%}
        select registry.file_id
        from {{ load_registry(raw_relation) }} as registry
        where
            registry.source = '{{ raw_relation.identifier }}'
            and registry.status = 'loaded'
            and not exists (
                select 1
                from {{ target }} as processed
                where processed._file_id = registry.file_id
            )
        order by registry.file_id
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list if execute else []) }}
{%- endmacro %}

{#-
    Post-hook: delete the lines of target whose file is no longer loaded
    (superseded), found in the registry one probe per file and deleted by a
    literal list, so a run with nothing superseded reads none of the lines.
-#}
{% macro delete_superseded_files(target, raw_relation) -%}
    {%- set query -%}
        select registry.file_id
        from {{ load_registry(raw_relation) }} as registry
        where
            registry.source = '{{ raw_relation.identifier }}'
            and registry.status <> 'loaded'
            and exists (
                select 1
                from {{ target }} as processed
                where processed._file_id = registry.file_id
            )
        order by registry.file_id
    {%- endset -%}
    {%- set stale_ids = [] -%}
    {%- if execute -%}
        {%- set stale_ids = run_query(query).columns[0].values() -%}
    {%- endif -%}
    {%- if stale_ids -%}
        delete from {{ target }} where _file_id in ({{ stale_ids | join(', ') }})
    {%- else -%}
        select 1 as nothing_superseded
    {%- endif -%}
{%- endmacro %}
