{#
  Exact sums. The API sends averages, times and hours as floating numbers; a sum of doubles
  depends on the order of its terms, and the order rows are read in depends on the load history
  (a merge deletes the days it reloads and appends them again), so the same rows could give
  averages that differ in their last bits. So each such value enters the arithmetic as a
  decimal with 9 places, `exact(x)`: a rounding of that row's value alone, which keeps what the
  API sends as is (whole seconds, two decimals). Sums of decimals, and of decimals times counts,
  are exact in any order; each mart turns them into a double once, at the end (`as_double`),
  before its one division. Equal rows give equal bits, whatever the history.
#}
{% macro exact(expression) -%}
    cast({{ expression }} as {{ livechat.exact_type() }})
{%- endmacro %}

{#- A decimal type with 9 places that holds any one value the API sends (up to 10^9). -#}
{% macro exact_type() -%}
    {{ return(adapter.dispatch('exact_type', 'livechat')()) }}
{%- endmacro %}

{% macro default__exact_type() -%}
    {{ return('decimal(18, 9)') }}
{%- endmacro %}

{#- BigQuery's NUMERIC is DECIMAL(38, 9). -#}
{% macro bigquery__exact_type() -%}
    {{ return('numeric') }}
{%- endmacro %}

{% macro snowflake__exact_type() -%}
    {{ return('number(18, 9)') }}
{%- endmacro %}

{#- An exact sum (or any number) as the double the marts expose. -#}
{% macro as_double(expression) -%}
    cast({{ expression }} as {{ livechat.sql_type('double') }})
{%- endmacro %}
