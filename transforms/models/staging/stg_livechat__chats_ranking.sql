-- grain: one row per account_id, report_date and agent_id
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
select
    account_id,
    report_date,
    agent_id,
    cast(total as bigint) as rated_chats,
    cast(good as bigint) as chats_rated_good,
    cast(bad as bigint) as chats_rated_bad,
    cast(score as double precision) as ranking_score
from {{ livechat_source('chats_ranking') }} as loaded
where {{ livechat.finished_day('loaded') }}
