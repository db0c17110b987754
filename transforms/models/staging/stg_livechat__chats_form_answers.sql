-- grain: one row per account_id, report_date, form_id, field_id and answer_id
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
select
    account_id,
    report_date,
    form_id,
    field_id,
    answer_id,
    field_label,
    answer_label,
    cast(count as bigint) as answers
from {{ livechat_source('chats_form_answers') }} as loaded
where {{ livechat.finished_day('loaded') }}
