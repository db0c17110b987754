-- grain: one row per account_id, group_id and report_date (and report_hour: null when loaded by the day)
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
select
    account_id,
    group_id,
    report_date,
    report_hour,
    cast(count as bigint) as chats_with_response,
    cast(response_time as double precision) as avg_response_time_seconds
from {{ livechat_source('chats_response_time_by_group') }} as loaded
where {{ livechat.finished_day('loaded') }}
