-- grain: one row per account_id, report_date and agent_id that has performance or ranking data.
-- Additive parts only: ranking scores are recomputed from good and bad at every grain; seconds
-- are exact decimals (macros/exact.sql), so sums over days do not depend on row order.
with

performance as (
    select * from {{ ref('stg_livechat__agents_performance') }}
),

ranking as (
    select * from {{ ref('stg_livechat__chats_ranking') }}
),

agent_days as (
    select account_id, report_date, agent_id from performance
    union
    select account_id, report_date, agent_id from ranking
),

final as (
    select
        agent_days.account_id,
        agent_days.report_date,
        agent_days.agent_id,
        coalesce(performance.chats, 0) as chats,
        coalesce(performance.chats_rated_good, 0) as chats_rated_good,
        coalesce(performance.chats_rated_bad, 0) as chats_rated_bad,
        coalesce(ranking.chats_rated_good, 0) as ranked_good,
        coalesce(ranking.chats_rated_bad, 0) as ranked_bad,
        {{ livechat.exact('performance.avg_first_response_time_seconds') }}
            * performance.chats_with_first_response as first_response_time_seconds_sum,
        coalesce(performance.chats_with_first_response, 0) as chats_with_first_response,
        coalesce({{ livechat.exact('performance.chatting_time_seconds') }}, 0)
            as chatting_time_seconds,
        coalesce({{ livechat.exact('performance.logged_in_time_seconds') }}, 0)
            as logged_in_time_seconds,
        coalesce({{ livechat.exact('performance.accepting_chats_time_seconds') }}, 0)
            as accepting_chats_time_seconds,
        coalesce({{ livechat.exact('performance.not_accepting_chats_time_seconds') }}, 0)
            as not_accepting_chats_time_seconds
    from agent_days
    left join performance
        on performance.account_id = agent_days.account_id
        and performance.report_date = agent_days.report_date
        and performance.agent_id = agent_days.agent_id
    left join ranking
        on ranking.account_id = agent_days.account_id
        and ranking.report_date = agent_days.report_date
        and ranking.agent_id = agent_days.agent_id
)

select * from final
