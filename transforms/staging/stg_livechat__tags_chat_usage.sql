-- grain: one row per account_id, report_date and tag
select
    account_id,
    report_date,
    tag,
    cast(chats as bigint) as chats
from {{ table('tags_chat_usage') }}
