{#
  What a grain means for the rollup macros (macros/rollups/): `daily`, `weekly` (ISO weeks,
  Monday first) or `monthly`. Each mart at a grain is one model file that calls its rollup macro.
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
