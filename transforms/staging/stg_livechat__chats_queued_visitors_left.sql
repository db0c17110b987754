-- grain: one row per account_id, report_date and chat_id
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
from {{ table('chats_queued_visitors_left') }}
