-- grain: one row per account_id, report_date and form_id
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
select
    account_id,
    report_date,
    form_id,
    cast(group_id as bigint) as group_id,
    cast(count as bigint) as chats
from {{ livechat_source('chats_forms') }} as loaded
where {{ livechat.finished_day('loaded') }}
