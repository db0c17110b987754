{#
  The instant the package takes as now: `LIVECHAT_REPORTS_NOW` (an ISO-8601 instant with a UTC
  offset, the command's rehearsed clock) when it is set, else the warehouse's current time, as
  a timestamp with time zone. Dispatched with the package's namespace, so a project that
  installs the package can override it.
#}

{% macro now() -%}
    {{ return(adapter.dispatch('now', 'livechat')()) }}
{%- endmacro %}

{#- The rehearsed instant as checked text, or '' when LIVECHAT_REPORTS_NOW is unset or empty. -#}
{% macro rehearsed_now() -%}
    {%- set text = env_var('LIVECHAT_REPORTS_NOW', '') | trim -%}
    {%- set pattern = '\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}(:?\\d{2})?)' -%}
    {%- if text and not modules.re.fullmatch(pattern, text) -%}
        {{ exceptions.raise_compiler_error(
            "LIVECHAT_REPORTS_NOW `" ~ text ~ "` is not an ISO-8601 instant with a UTC offset;"
            ~ " write it like 2026-11-08T06:15:00+00:00, or unset it to use the real clock"
        ) }}
    {%- endif -%}
    {{ return(text) }}
{%- endmacro %}

{% macro default__now() -%}
    {%- set rehearsed = livechat.rehearsed_now() -%}
    {%- if rehearsed -%}
        cast('{{ rehearsed }}' as timestamp with time zone)
    {%- else -%}
        current_timestamp
    {%- endif -%}
{%- endmacro %}

{% macro bigquery__now() -%}
    {%- set rehearsed = livechat.rehearsed_now() -%}
    {%- if rehearsed -%}
        timestamp('{{ rehearsed }}')
    {%- else -%}
        current_timestamp()
    {%- endif -%}
{%- endmacro %}

{% macro snowflake__now() -%}
    {%- set rehearsed = livechat.rehearsed_now() -%}
    {%- if rehearsed -%}
        to_timestamp_tz('{{ rehearsed }}')
    {%- else -%}
        current_timestamp()
    {%- endif -%}
{%- endmacro %}
