-- grain: one row per account_id, report_date and greeting_id (per report_hour when loaded hourly)
select
    account_id,
    report_date,
    greeting_id,
    cast(displayed as bigint) as displayed,
    cast(accepted as bigint) as accepted,
    cast(canceled as bigint) as canceled,
    cast(goals as bigint) as goals
from {{ table('chats_greetings_conversion') }}
