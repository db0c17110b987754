{#
  What each adapter's date macros render, checked on whatever engine runs the tests: BigQuery
  and Snowflake cannot be run here, so their SQL is pinned as text. Each row is a macro whose
  rendering differs from the one written below.
#}
{%- set expected = {
    'default__week_start': "cast(date_trunc('week', d) as date)",
    'bigquery__week_start': "date_trunc(d, isoweek)",
    'snowflake__week_start': "cast(dateadd('day', 1 - dayofweekiso(d), d) as date)",
    'default__month_start': "cast(date_trunc('month', d) as date)",
    'bigquery__month_start': "date_trunc(d, month)",
    'snowflake__month_start': "cast(date_trunc('month', d) as date)",
    'default__days_in_month': "cast(cast(d + interval '1 month' as date) - d as integer)",
    'bigquery__days_in_month': "date_diff(date_add(d, interval 1 month), d, day)",
    'snowflake__days_in_month': "datediff('day', d, dateadd('month', 1, d))",
} -%}
{%- set mismatches = [] -%}
{%- for name, sql in expected.items() -%}
    {%- set rendered = context['livechat'][name]('d') | trim -%}
    {%- if rendered != sql -%}
        {%- do mismatches.append((name, rendered)) -%}
    {%- endif -%}
{%- endfor -%}
{%- if mismatches -%}
    {%- for name, rendered in mismatches %}
select '{{ name }}' as macro_name, {{ dbt.string_literal(rendered) }} as rendered_sql
{% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- else %}
select 'none' as macro_name, 'none' as rendered_sql where 1 = 0
{%- endif %}
