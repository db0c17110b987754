-- grain: one row per unfinished load, table, account_id and report_date it wrote rows for.
-- dlt writes a load's row in `_dlt_loads` last, so rows whose `_dlt_load_id` has none there belong
-- to a load that stopped part way (a failed load step); the next run finishes it. The staging
-- views leave out every day listed here, in every table, so no mart serves a day that a load
-- has only partly replaced. report_date is null for the tables not keyed by day (their staging
-- views leave out only the unfinished rows). Empty when every load finished.
with

completed as (
    select load_id from {{ livechat_source('_dlt_loads') }} as loads where status = 0
),

loaded as (
    {%- for table_name, by_day in livechat_tables().items() %}
    select
        '{{ table_name }}' as table_name,
        account_id,
        {% if by_day %}report_date{% else %}cast(null as date) as report_date{% endif %},
        _dlt_load_id
    from {{ livechat_source(table_name) }} as {{ table_name }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

final as (
    select distinct
        loaded._dlt_load_id as load_id,
        loaded.table_name,
        loaded.account_id,
        loaded.report_date
    from loaded
    where not exists (select 1 from completed where completed.load_id = loaded._dlt_load_id)
)

select * from final
