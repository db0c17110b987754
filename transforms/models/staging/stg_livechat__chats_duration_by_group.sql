-- grain: one row per account_id, group_id and report_date (and report_hour: null when loaded by the day)
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
select
    account_id,
    group_id,
    report_date,
    report_hour,
    cast(count as bigint) as chats,
    cast(duration as double precision) as avg_chat_duration_seconds,
    cast(agents_chatting_duration as double precision) as avg_agents_chatting_duration_seconds
from {{ livechat_source('chats_duration_by_group') }} as loaded
where {{ livechat.finished_day('loaded') }}
