-- grain: one row per account_id and report_date (and report_hour: null when loaded by the day)
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
select
    account_id,
    report_date,
    report_hour,
    cast(queued_count as bigint) as queued_visitors,
    cast(queued_min as double precision) as queued_min_seconds,
    cast(queued_max as double precision) as queued_max_seconds,
    cast(queued_avg as double precision) as queued_avg_seconds,
    cast(left_queue_count as bigint) as left_queue_visitors,
    cast(left_queue_min as double precision) as left_queue_min_seconds,
    cast(left_queue_max as double precision) as left_queue_max_seconds,
    cast(left_queue_avg as double precision) as left_queue_avg_seconds,
    cast(entered_chat_count as bigint) as entered_chat_visitors,
    cast(entered_chat_min as double precision) as entered_chat_min_seconds,
    cast(entered_chat_max as double precision) as entered_chat_max_seconds,
    cast(entered_chat_avg as double precision) as entered_chat_avg_seconds
from {{ livechat_source('chats_queued_visitors') }} as loaded
where {{ livechat.finished_day('loaded') }}
