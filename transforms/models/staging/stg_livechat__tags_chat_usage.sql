-- grain: one row per account_id, report_date and tag
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
select
    account_id,
    report_date,
    tag,
    cast(chats as bigint) as chats
from {{ livechat_source('tags_chat_usage') }} as loaded
where {{ livechat.finished_day('loaded') }}
