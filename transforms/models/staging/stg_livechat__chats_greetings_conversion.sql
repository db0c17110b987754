-- grain: one row per account_id, report_date and greeting_id (and report_hour: null when loaded by the day)
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
select
    account_id,
    report_date,
    report_hour,
    greeting_id,
    cast(displayed as bigint) as displayed,
    cast(accepted as bigint) as accepted,
    cast(canceled as bigint) as canceled,
    cast(goals as bigint) as goals
from {{ livechat_source('chats_greetings_conversion') }} as loaded
where {{ livechat.finished_day('loaded') }}
