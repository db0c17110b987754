{#
  A model's grain: the rows where a key column is null, and one row per combination of key
  columns that stands on more than one row. `nullable_columns` are part of the key but may be
  null (report_hour: null in rows loaded by the day). A source table that was not loaded passes.
  Written here instead of pulling dbt_utils, whose install needs the network.
#}
{% test grain(model, columns, nullable_columns=[]) %}
{%- set key = columns + nullable_columns -%}
{%- set found = adapter.get_relation(
    database=model.database, schema=model.schema, identifier=model.identifier
) if execute else model -%}
{%- if found is none %}
select 1 as no_rows where 1 = 0
{%- else %}
select 'null key' as problem, {{ key | join(', ') }}, count(*) as rows_found
from {{ model }}
where {% for column in columns %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor %}
group by {{ key | join(', ') }}
union all
select 'duplicate key' as problem, {{ key | join(', ') }}, count(*) as rows_found
from {{ model }}
group by {{ key | join(', ') }}
having count(*) > 1
{%- endif %}
{% endtest %}
