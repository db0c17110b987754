-- grain: one row per account_id, group_id and report_date (and report_hour: null when loaded by the day)
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
-- Missed chats (no agent response) of each group, as stg_livechat__chats_missed_chats.
select
    account_id,
    group_id,
    report_date,
    report_hour,
    cast(total as bigint) as missed_chats,
    cast(continuous as bigint) as continuous_missed_chats
from {{ livechat_source('chats_missed_chats_by_group') }} as loaded
where {{ livechat.finished_day('loaded') }}
