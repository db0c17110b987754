-- grain: one row per account_id, report_date and form_id
select
    account_id,
    report_date,
    form_id,
    cast(group_id as bigint) as group_id,
    cast(count as bigint) as chats
from {{ table('chats_forms') }}
