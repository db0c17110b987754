{#
  The loaded tables, as the models read them. `livechat_source('x')` is `source('livechat', 'x')`
  when dlt has created table x; when it has not (its report was left out, or has not run yet),
  it is an empty relation with the columns and types that models/staging/_livechat__sources.yml
  declares for x, so every view builds from whatever is loaded and reads null for the rest.
#}

{% macro livechat_source(table_name) -%}
    {%- set relation = source('livechat', table_name) -%}
    {%- if not execute -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set found = adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) -%}
    {%- if found is not none -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', 'livechat')
        | selectattr('name', 'equalto', table_name) | first -%}
    {%- set columns = [] -%}
    {%- for name, column in node.columns.items() -%}
        {%- do columns.append('cast(null as ' ~ livechat.sql_type(column.data_type) ~ ') as ' ~ name) -%}
    {%- endfor -%}
    {{ return('(select ' ~ columns | join(', ') ~ ' where 1 = 0)') }}
{%- endmacro %}

{#- The SQL type dlt creates for one of its data types (as the sources file declares them). -#}
{% macro sql_type(dlt_type) -%}
    {{ return(adapter.dispatch('sql_type', 'livechat')(dlt_type)) }}
{%- endmacro %}

{% macro default__sql_type(dlt_type) -%}
    {%- set types = {
        'text': dbt.type_string(),
        'bigint': dbt.type_bigint(),
        'double': 'double precision',
        'bool': dbt.type_boolean(),
        'date': 'date',
        'timestamp': 'timestamp with time zone',
    } -%}
    {{ return(types[dlt_type]) }}
{%- endmacro %}

{% macro bigquery__sql_type(dlt_type) -%}
    {%- set types = {
        'text': 'string', 'bigint': 'int64', 'double': 'float64', 'bool': 'bool',
        'date': 'date', 'timestamp': 'timestamp',
    } -%}
    {{ return(types[dlt_type]) }}
{%- endmacro %}

{% macro snowflake__sql_type(dlt_type) -%}
    {%- set types = {
        'text': 'varchar', 'bigint': 'bigint', 'double': 'float', 'bool': 'boolean',
        'date': 'date', 'timestamp': 'timestamp_tz',
    } -%}
    {{ return(types[dlt_type]) }}
{%- endmacro %}

{#-
  True for a row of `alias` whose account and day no unfinished load wrote: the staging views'
  filter, so no mart serves a day that a failed load step has only partly replaced.
-#}
{% macro finished_day(alias) -%}
    not exists (
        select 1 from {{ ref('stg_livechat__unfinished_loads') }} as unfinished
        where unfinished.account_id = {{ alias }}.account_id
            and unfinished.report_date = {{ alias }}.report_date
    )
{%- endmacro %}
