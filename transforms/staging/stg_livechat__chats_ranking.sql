-- grain: one row per account_id, report_date and agent_id
select
    account_id,
    report_date,
    agent_id,
    cast(total as bigint) as rated_chats,
    cast(good as bigint) as chats_rated_good,
    cast(bad as bigint) as chats_rated_bad,
    cast(score as double precision) as ranking_score
from {{ table('chats_ranking') }}
