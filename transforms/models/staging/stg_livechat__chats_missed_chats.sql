-- grain: one row per account_id and report_date (and report_hour: null when loaded by the day)
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
-- Missed chats: chats/total_chats of the chats no agent responded to
-- (filters.agent_response.exists = false), on the day (hour) the chat started.
select
    account_id,
    report_date,
    report_hour,
    cast(total as bigint) as missed_chats,
    cast(continuous as bigint) as continuous_missed_chats
from {{ livechat_source('chats_missed_chats') }} as loaded
where {{ livechat.finished_day('loaded') }}
