-- grain: one row per account_id, report_date and form_id
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
select
    account_id,
    report_date,
    form_id,
    cast(group_id as bigint) as group_id,
    cast(count as bigint) as chats
from {{ livechat_source('chats_forms') }} as loaded
where not exists (
    select 1 from {{ ref('stg_livechat__unfinished_loads') }} as unfinished
    where unfinished.account_id = loaded.account_id and unfinished.report_date = loaded.report_date
)
