-- grain: one row per account_id, report_date and group_id (and report_hour: null when loaded by the day)
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
select
    account_id,
    report_date,
    report_hour,
    group_id,
    cast(chats as bigint) as chats
from {{ livechat_source('chats_groups') }} as loaded
where {{ livechat.finished_day('loaded') }}
