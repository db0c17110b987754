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
where not exists (
    select 1 from {{ ref('stg_livechat__unfinished_loads') }} as unfinished
    where unfinished.account_id = loaded.account_id and unfinished.report_date = loaded.report_date
)
