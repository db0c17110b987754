-- grain: one row per account_id and report_date (per report_hour when loaded hourly)
select
    account_id,
    report_date,
    cast(started_by_customer_from_greeting as bigint) as chats_from_greetings,
    cast(started_by_customer_without_greeting as bigint) as chats_from_customers_without_greeting,
    cast(started_by_agent as bigint) as chats_started_by_agent
from {{ table('chats_engagement') }}
