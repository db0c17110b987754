-- grain: one row per account_id, group_id and report_date (and report_hour: null when loaded by the day)
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
select
    account_id,
    group_id,
    report_date,
    report_hour,
    cast(total as bigint) as total_chats,
    cast(continuous as bigint) as continuous_chats
from {{ livechat_source('chats_total_chats_by_group') }} as loaded
where {{ livechat.finished_day('loaded') }}
