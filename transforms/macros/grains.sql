{#
  What a grain means for the rollup macros (macros/rollups/): `daily`, `weekly` (ISO weeks,
  Monday first) or `monthly`, and the breakdown (the key columns before the period: per account,
  or per account and group). Each mart at a grain is one model file that calls its rollup macro.
#}

{#- The start of the period holding `day`. -#}
{% macro period_start(grain, day) -%}
    {%- if grain == 'daily' -%}{{ day }}
    {%- elif grain == 'weekly' -%}{{ livechat.week_start(day) }}
    {%- elif grain == 'monthly' -%}{{ livechat.month_start(day) }}
    {%- else -%}{{ exceptions.raise_compiler_error("unknown grain `" ~ grain ~ "`") }}
    {%- endif -%}
{%- endmacro %}

{#- How many days the period starting on `period_start` has. -#}
{% macro period_days(grain, period_start) -%}
    {%- if grain == 'daily' -%}1
    {%- elif grain == 'weekly' -%}7
    {%- elif grain == 'monthly' -%}{{ livechat.days_in_month(period_start) }}
    {%- else -%}{{ exceptions.raise_compiler_error("unknown grain `" ~ grain ~ "`") }}
    {%- endif -%}
{%- endmacro %}

{#- The key column a mart at this grain names its period with. -#}
{% macro period_column(grain) -%}
    {{ {'daily': 'report_date', 'weekly': 'week_start', 'monthly': 'month_start'}[grain] }}
{%- endmacro %}

{#- The period's name as customers_unique_visitors_by_period stores it. -#}
{% macro period_name(grain) -%}
    {{ {'daily': 'day', 'weekly': 'week', 'monthly': 'month'}[grain] }}
{%- endmacro %}

{#-
  The breakdowns: which rows a mart's key tells apart before its period. `keys` is
  ['account_id'] (the account's numbers) or ['account_id', 'group_id'] (each group's, read from
  the `<table>_by_group` tables and the `_by_group` models). Returns the suffix those names carry.
-#}
{% macro breakdown_suffix(keys) -%}
    {%- set suffixes = {'account_id': '', 'account_id,group_id': '_by_group'} -%}
    {%- set name = keys | join(',') -%}
    {%- if name not in suffixes -%}
        {{ exceptions.raise_compiler_error(
            "unknown breakdown `" ~ keys ~ "`: use ['account_id'] or ['account_id', 'group_id']"
        ) }}
    {%- endif -%}
    {{ return(suffixes[name]) }}
{%- endmacro %}

{#- `left.k = right.k and ...` for each column: the join of two relations on their key. -#}
{% macro same_key(left, right, columns) -%}
    {%- for column in columns -%}
        {{ left }}.{{ column }} = {{ right }}.{{ column }}{% if not loop.last %} and {% endif %}
    {%- endfor -%}
{%- endmacro %}
