-- grain: one row per account_id, report_date, form_id, field_id and answer_id
select
    account_id,
    report_date,
    form_id,
    field_id,
    answer_id,
    field_label,
    answer_label,
    cast(count as bigint) as answers
from {{ table('chats_form_answers') }}
