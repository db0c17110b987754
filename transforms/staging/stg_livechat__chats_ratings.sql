-- grain: one row per account_id and report_date (per report_hour when loaded hourly)
select
    account_id,
    report_date,
    cast(chats as bigint) as chats,
    cast(good as bigint) as chats_rated_good,
    cast(bad as bigint) as chats_rated_bad
from {{ table('chats_ratings') }}
