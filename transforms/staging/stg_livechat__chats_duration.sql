-- grain: one row per account_id and report_date (per report_hour when loaded hourly)
select
    account_id,
    report_date,
    cast(count as bigint) as chats,
    cast(duration as double precision) as avg_chat_duration_seconds,
    cast(agents_chatting_duration as double precision) as avg_agents_chatting_duration_seconds
from {{ table('chats_duration') }}
