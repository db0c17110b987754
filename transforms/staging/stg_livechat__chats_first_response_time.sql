-- grain: one row per account_id and report_date (per report_hour when loaded hourly)
select
    account_id,
    report_date,
    cast(count as bigint) as chats_with_first_response,
    cast(first_response_time as double precision) as avg_first_response_time_seconds
from {{ table('chats_first_response_time') }}
