-- grain: one row per unfinished load, table, account_id and report_date it wrote rows for.
-- dlt writes a load's row in `_dlt_loads` last, so rows whose `_dlt_load_id` has none there belong
-- to a load that stopped part way (a failed load step); the next run finishes it. The staging
-- views leave out every day listed here, in every table, so no mart serves a day that a load
-- has only partly replaced. report_date is null for the tables not keyed by day (their staging
-- views leave out only the unfinished rows). Empty when every load finished.
with

completed as (
    select load_id from {{ table('_dlt_loads') }} where status = 0
),

loaded as (
    select 'agents_availability' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('agents_availability') }}
    union all
    select 'agents_performance' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('agents_performance') }}
    union all
    select 'chats_duration' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('chats_duration') }}
    union all
    select 'chats_engagement' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('chats_engagement') }}
    union all
    select 'chats_first_response_time' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('chats_first_response_time') }}
    union all
    select 'chats_form_answers' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('chats_form_answers') }}
    union all
    select 'chats_forms' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('chats_forms') }}
    union all
    select 'chats_greetings_conversion' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('chats_greetings_conversion') }}
    union all
    select 'chats_groups' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('chats_groups') }}
    union all
    select 'chats_queued_visitors' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('chats_queued_visitors') }}
    union all
    select 'chats_queued_visitors_left' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('chats_queued_visitors_left') }}
    union all
    select 'chats_ranking' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('chats_ranking') }}
    union all
    select 'chats_ratings' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('chats_ratings') }}
    union all
    select 'chats_response_time' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('chats_response_time') }}
    union all
    select 'chats_tags' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('chats_tags') }}
    union all
    select 'chats_total_chats' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('chats_total_chats') }}
    union all
    select 'customers_unique_visitors' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('customers_unique_visitors') }}
    union all
    select 'tags_chat_usage' as table_name, account_id, report_date, _dlt_load_id
    from {{ table('tags_chat_usage') }}
    union all
    select 'customers_unique_visitors_by_period' as table_name, account_id, cast(null as date) as report_date, _dlt_load_id
    from {{ table('customers_unique_visitors_by_period') }}
    union all
    select 'report_requests' as table_name, account_id, cast(null as date) as report_date, _dlt_load_id
    from {{ table('report_requests') }}
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
