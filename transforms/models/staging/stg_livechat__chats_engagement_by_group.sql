-- grain: one row per account_id, group_id and report_date (and report_hour: null when loaded by the day)
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
select
    account_id,
    group_id,
    report_date,
    report_hour,
    cast(started_by_customer_from_greeting as bigint) as chats_from_greetings,
    cast(started_by_customer_without_greeting as bigint) as chats_from_customers_without_greeting,
    cast(started_by_agent as bigint) as chats_started_by_agent
from {{ livechat_source('chats_engagement_by_group') }} as loaded
where {{ livechat.finished_day('loaded') }}
