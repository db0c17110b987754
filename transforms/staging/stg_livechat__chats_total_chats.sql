-- grain: one row per account_id and report_date (per report_hour when loaded hourly)
select
    account_id,
    report_date,
    cast(total as bigint) as total_chats,
    cast(continuous as bigint) as continuous_chats
from {{ table('chats_total_chats') }}
