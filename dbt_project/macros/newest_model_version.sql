{#-
    A scalar subquery: the model_version of the newest run (latest trained_at)
    of model `model_name` in the ML registry ml.model_runs, which both ML
    assets append to (orchestration/assets/ml.py). Staging reads only that
    version; older versions stay in ml.*.
-#}
{% macro newest_model_version(model_name) -%}
    (
        select newest_run.model_version
        from ml.model_runs as newest_run
        where newest_run.model_name = '{{ model_name }}'
        order by newest_run.trained_at desc
        limit 1
    )
{%- endmacro %}
