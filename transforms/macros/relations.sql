{#
  On DuckDB, a view names the relations it reads without their database: dbt-duckdb calls the
  database after the file (`livechat` for livechat.duckdb), and a view that says
  `"livechat"."livechat_reports"."x"` breaks as soon as the file is renamed, copied or attached
  under another name. The schema alone resolves in whatever file the view is read from. Other
  engines keep dbt's fully qualified names.
#}
{% macro ref() -%}
    {%- set relation = builtins.ref(*varargs, **kwargs) -%}
    {{ return(livechat.without_database(relation)) }}
{%- endmacro %}

{% macro source(source_name, table_name) -%}
    {%- set relation = builtins.source(source_name, table_name) -%}
    {{ return(livechat.without_database(relation)) }}
{%- endmacro %}

{% macro without_database(relation) -%}
    {%- if target.type == 'duckdb' and relation.include is defined -%}
        {{ return(relation.include(database=false)) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
