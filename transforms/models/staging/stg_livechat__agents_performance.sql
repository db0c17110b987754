-- grain: one row per account_id, report_date and agent_id
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
select
    account_id,
    report_date,
    agent_id,
    cast(chats_count as bigint) as chats,
    cast(chats_rated_good as bigint) as chats_rated_good,
    cast(chats_rated_bad as bigint) as chats_rated_bad,
    cast(first_response_chats_count as bigint) as chats_with_first_response,
    cast(first_response_time as double precision) as avg_first_response_time_seconds,
    cast(chatting_time as double precision) as chatting_time_seconds,
    cast(logged_in_time as double precision) as logged_in_time_seconds,
    cast(accepting_chats_time as double precision) as accepting_chats_time_seconds,
    cast(not_accepting_chats_time as double precision) as not_accepting_chats_time_seconds
from {{ livechat_source('agents_performance') }} as loaded
where {{ livechat.finished_day('loaded') }}
