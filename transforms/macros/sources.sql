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

{#-
  The `on-run-start` check (dbt_project.yml): the schema the sources point at must hold at least
  one table a livechat-reports load writes. Otherwise (a mistyped `livechat_schema`, a database
  the pipeline never loaded) the build stops here, before any view is replaced: every view would
  build green and empty over stand-ins (livechat_source). Tables merely not loaded yet are fine.
-#}
{% macro require_loaded_tables() -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', 'livechat') | first -%}
    {%- set wanted = ['_dlt_loads'] + (livechat.livechat_tables().keys() | list) -%}
    {%- for table_name in wanted -%}
        {%- if adapter.get_relation(database=node.database, schema=node.schema, identifier=table_name) is not none -%}
            {{ return('') }}
        {%- endif -%}
    {%- endfor -%}
    {%- if target.type == 'duckdb' -%}
        {%- set where = 'DuckDB file `' ~ target.path ~ '`' -%}
        {%- set fix = 'set `livechat_schema` to the dataset the pipeline loaded (`--vars \'{livechat_schema: livechat_reports}\'`),'
            ~ ' or LIVECHAT_DUCKDB_PATH to the file `livechat-reports load` wrote (its summary prints the path)' -%}
    {%- else -%}
        {%- set where = target.type ~ ' database `' ~ node.database ~ '`' ~ (' on ' ~ target.host if target.host is defined else '') -%}
        {%- set fix = 'set `livechat_schema` to the dataset the pipeline loaded (`--vars \'{livechat_schema: livechat_reports}\'`),'
            ~ ' or point the profile at the database it loaded' -%}
    {%- endif -%}
    {{ exceptions.raise_compiler_error(
        'No loaded LiveChat table (neither _dlt_loads nor a report table) in schema `' ~ node.schema
        ~ '` of ' ~ where ~ ', so no view was built or replaced: ' ~ fix ~ '.'
    ) }}
{%- endmacro %}
