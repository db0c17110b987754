-- grain: one row per account_id, report_date and chat_id
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
select
    account_id,
    report_date,
    chat_id,
    visitor_id,
    visitor_ip,
    visitor_name,
    visitor_email,
    cast(queue_duration as double precision) as queue_duration_seconds,
    cast(queue_group_id as bigint) as queue_group_id,
    queue_started_at,
    queue_url
from {{ livechat_source('chats_queued_visitors_left') }} as loaded
where {{ livechat.finished_day('loaded') }}
