-- grain: one row per account_id, report_date and tag (per report_hour when loaded hourly)
select
    account_id,
    report_date,
    tag,
    cast(chats as bigint) as chats
from {{ table('chats_tags') }}
