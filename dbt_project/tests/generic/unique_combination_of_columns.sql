{#-
    Fails for every combination of the given columns that occurs more than
    once (the grain test of a model; nulls compare equal, as in group by).

    data_tests:
      - unique_combination_of_columns:
          arguments:
            combination_of_columns: [date_day, campaign_key, channel]
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
{%- set columns_csv = combination_of_columns | join(', ') %}

select
    {{ columns_csv }},
    count(*) as occurrences
from {{ model }}
group by {{ columns_csv }}
having count(*) > 1

{% endtest %}
