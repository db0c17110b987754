-- grain: one row per account_id, group_id and report_date (and report_hour: null when loaded by the day)
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
select
    account_id,
    group_id,
    report_date,
    report_hour,
    cast(chats as bigint) as chats,
    cast(good as bigint) as chats_rated_good,
    cast(bad as bigint) as chats_rated_bad
from {{ livechat_source('chats_ratings_by_group') }} as loaded
where {{ livechat.finished_day('loaded') }}
