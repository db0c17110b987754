-- grain: one row per account_id, report_date and group_id (per report_hour when loaded hourly)
select
    account_id,
    report_date,
    group_id,
    cast(chats as bigint) as chats
from {{ table('chats_groups') }}
