{#
  The only date SQL that differs between engines, dispatched per adapter with the package's
  namespace (`livechat`), so a project that installs the package can override any of them.
  ISO weeks start on Monday on every engine: BigQuery's `week` starts on Sunday (`isoweek` does
  not), and Snowflake's `date_trunc('week')` follows the session's WEEK_START parameter.
  Each adapter's version is plain SQL text, so tests/singular/ can render all of them anywhere.
#}

{#- Monday of the ISO week holding `day`, as a date. -#}
{% macro week_start(day) -%}
    {{ return(adapter.dispatch('week_start', 'livechat')(day)) }}
{%- endmacro %}

{% macro default__week_start(day) -%}
    cast(date_trunc('week', {{ day }}) as date)
{%- endmacro %}

{% macro bigquery__week_start(day) -%}
    date_trunc({{ day }}, isoweek)
{%- endmacro %}

{% macro snowflake__week_start(day) -%}
    cast(dateadd('day', 1 - dayofweekiso({{ day }}), {{ day }}) as date)
{%- endmacro %}

{#- The first day of the calendar month holding `day`, as a date. -#}
{% macro month_start(day) -%}
    {{ return(adapter.dispatch('month_start', 'livechat')(day)) }}
{%- endmacro %}

{% macro default__month_start(day) -%}
    cast(date_trunc('month', {{ day }}) as date)
{%- endmacro %}

{% macro bigquery__month_start(day) -%}
    date_trunc({{ day }}, month)
{%- endmacro %}

{% macro snowflake__month_start(day) -%}
    cast(date_trunc('month', {{ day }}) as date)
{%- endmacro %}

{#- How many days the month starting on `month_start` has, as an integer. -#}
{% macro days_in_month(month_start) -%}
    {{ return(adapter.dispatch('days_in_month', 'livechat')(month_start)) }}
{%- endmacro %}

{% macro default__days_in_month(month_start) -%}
    cast(cast({{ month_start }} + interval '1 month' as date) - {{ month_start }} as integer)
{%- endmacro %}

{% macro bigquery__days_in_month(month_start) -%}
    date_diff(date_add({{ month_start }}, interval 1 month), {{ month_start }}, day)
{%- endmacro %}

{% macro snowflake__days_in_month(month_start) -%}
    datediff('day', {{ month_start }}, dateadd('month', 1, {{ month_start }}))
{%- endmacro %}

{#-
  The instant `day` ends in the IANA zone `timezone` (the next day's 00:00 there), as a
  timestamp with time zone: when a day's numbers stop growing.
-#}
{% macro day_end(day, timezone) -%}
    {{ return(adapter.dispatch('day_end', 'livechat')(day, timezone)) }}
{%- endmacro %}

{% macro default__day_end(day, timezone) -%}
    ((cast({{ day }} as timestamp) + interval '1 day') at time zone {{ timezone }})
{%- endmacro %}

{% macro duckdb__day_end(day, timezone) -%}
    timezone({{ timezone }}, cast({{ day }} as timestamp) + interval 1 day)
{%- endmacro %}

{% macro bigquery__day_end(day, timezone) -%}
    timestamp(date_add({{ day }}, interval 1 day), {{ timezone }})
{%- endmacro %}

{% macro snowflake__day_end(day, timezone) -%}
    convert_timezone({{ timezone }}, 'UTC', cast(dateadd('day', 1, {{ day }}) as timestamp_ntz))
{%- endmacro %}
