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
    The file ids of raw_relation whose registry status is (loaded=true) or is
    not (false) 'loaded' and that have (processed=true) or have no (false)
    line in target: one index probe per file. A list; empty at parse time.
-#}
{% macro registry_files(target, raw_relation, loaded, processed) -%}
    {%- set query -%}
        select registry.file_id
        from {{ load_registry(raw_relation) }} as registry
        where
            registry.source = '{{ raw_relation.identifier }}'
            and registry.status {{ '=' if loaded else '<>' }} 'loaded'
            and {{ '' if processed else 'not' }} exists (
                select 1
                from {{ target }} as processed
                where processed._file_id = registry.file_id
            )
        order by registry.file_id
    {%- endset -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{#-
    The files loaded but not yet in target (the distinct _file_id of ten
    million lines took 30 s; this is one probe per file).
-#}
{% macro new_loaded_files(target, raw_relation) -%}
    {{ return(registry_files(target, raw_relation, true, false)) }}
{%- endmacro %}

{#-
    Post-hook: delete the lines of target whose file is no longer loaded
    (superseded) by a literal list, so a run with nothing superseded reads
    none of the lines.
-#}
{% macro delete_superseded_files(target, raw_relation) -%}
    {%- set stale_ids = registry_files(target, raw_relation, false, true) -%}
    {%- if stale_ids -%}
        delete from {{ target }} where _file_id in ({{ stale_ids | join(', ') }})
    {%- else -%}
        select 1 as nothing_superseded
    {%- endif -%}
{%- endmacro %}
