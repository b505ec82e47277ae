{#-
    Whole calendar months from start_date to end_date: the difference of
    their (year * 12 + month), so the day of the month does not matter
    (2024-01-31 -> 2024-02-01 is 1 month, 2024-01-01 -> 2024-01-31 is 0).
    Negative when end_date is in an earlier month. Renders an integer
    expression; both arguments are date or timestamp expressions.
-#}
{% macro months_between(start_date, end_date) -%}
    cast(
        (date_part('year', {{ end_date }}) - date_part('year', {{ start_date }}))
        * 12
        + date_part('month', {{ end_date }})
        - date_part('month', {{ start_date }})
        as integer
    )
{%- endmacro %}
