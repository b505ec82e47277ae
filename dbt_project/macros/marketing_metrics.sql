{#-
    The one definition of the derived marketing metrics, shared by every
    mart. Arguments are SQL expressions for the additive measures (column
    names by default, or e.g. "aggregated.spend"). Renders a list of
    select-list items, comma-separated, without a trailing comma (indent:
    spaces before the second and later items, for readable compiled SQL):

    profit = revenue - spend                      numeric(18,4)
    roi    = (revenue - spend) / spend            numeric(28,6)
    roas   = revenue / spend                      numeric(28,6)
    cpa    = spend / conversions                  numeric(28,6)
    ctr    = clicks / impressions                 numeric(28,6)
    cvr    = conversions / clicks                 numeric(28,6)
    cpc    = spend / clicks                       numeric(28,6)
    cpm    = 1000 * spend / impressions           numeric(28,6)

    Every ratio goes through safe_divide: a zero denominator gives null,
    never an error. The ratio type is dbt.type_numeric() (numeric(28,6) on
    Postgres); the marts' contracts declare the same types.
-#}
{% macro marketing_metrics(
    spend='spend',
    revenue='revenue',
    impressions='impressions',
    clicks='clicks',
    conversions='conversions',
    indent=8
) -%}
    {%- set ratios = {
        'roi': safe_divide('(' ~ revenue ~ ') - (' ~ spend ~ ')', spend),
        'roas': safe_divide(revenue, spend),
        'cpa': safe_divide(spend, conversions),
        'ctr': safe_divide(clicks, impressions),
        'cvr': safe_divide(conversions, clicks),
        'cpc': safe_divide(spend, clicks),
        'cpm': safe_divide('1000 * (' ~ spend ~ ')', impressions),
    } -%}
    {%- set items = [
        'cast((' ~ revenue ~ ') - (' ~ spend ~ ') as '
        ~ type_money() ~ ') as profit'
    ] -%}
    {%- for name, ratio in ratios.items() -%}
        {%- do items.append(
            'cast(' ~ ratio ~ ' as ' ~ dbt.type_numeric() ~ ') as ' ~ name
        ) -%}
    {%- endfor -%}
    {{ items | join(',\n' ~ ' ' * indent) }}
{%- endmacro %}


{#-
    The additive measures cast to the marts' contract types, then
    marketing_metrics on them: the measure-and-metric columns every campaign
    and channel mart ends with (spend, impressions, clicks, conversions,
    revenue, profit, roi, roas, cpa, ctr, cvr, cpc, cpm). `relation`: the CTE
    the sums come from ('aggregated'), or none for bare column names.
-#}
{% macro marketing_measures(relation=none, indent=8) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    {%- set types = {
        'spend': type_money(),
        'impressions': dbt.type_bigint(),
        'clicks': dbt.type_bigint(),
        'conversions': type_money(),
        'revenue': type_money(),
    } -%}
    {%- set items = [] -%}
    {%- for name, sql_type in types.items() -%}
        {%- do items.append(
            'cast(' ~ prefix ~ name ~ ' as ' ~ sql_type ~ ') as ' ~ name
        ) -%}
    {%- endfor -%}
    {%- do items.append(marketing_metrics(
        spend=prefix ~ 'spend',
        revenue=prefix ~ 'revenue',
        impressions=prefix ~ 'impressions',
        clicks=prefix ~ 'clicks',
        conversions=prefix ~ 'conversions',
        indent=indent
    )) -%}
    {{ items | join(',\n' ~ ' ' * indent) }}
{%- endmacro %}
