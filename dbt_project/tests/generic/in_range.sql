{#-
    Fails for every row whose value lies outside [min_value, max_value]
    (bounds inclusive; either bound may be left out). Nulls pass: pair with
    not_null where a value is required.

    data_tests:
      - in_range:
          arguments:
            min_value: 0
            max_value: 1
-#}
{% test in_range(model, column_name, min_value=none, max_value=none) %}
    {%- if min_value is none and max_value is none -%}
        {%- do exceptions.raise_compiler_error(
            "in_range on " ~ column_name ~ " needs min_value or max_value"
        ) -%}
    {%- endif -%}
    {%- set violations = [
        column_name ~ ' < ' ~ min_value if min_value is not none else none,
        column_name ~ ' > ' ~ max_value if max_value is not none else none,
    ] | reject('none') | list %}

select {{ column_name }} as out_of_range_value
from {{ model }}
where
    {{ column_name }} is not null
    and ({{ violations | join(' or ') }})

{% endtest %}
