{#
  agent_scorecard_rollup(grain): the agent_scorecard mart at one grain (daily, weekly or monthly).
  agent_scorecard_<grain>: grain = one row per account_id, <period column> and agent_id.
  ranking_score is LiveChat's Wilson score (Z = 2.69) of the period's good and bad ratings,
  recomputed from the counts, never summed or averaged; null without rated chats.
  avg_first_response_time_seconds is weighted by the chats that had a first response. Times are
  summed exactly (macros/exact.sql) and become doubles once, so equal rows give equal bits.
  is_partial_period: true until every day of the period is complete (int_period_completeness).
#}
{% macro agent_scorecard_rollup(grain) -%}
with

agent_days as (
    select
        {{ livechat.period_start(grain, 'report_date') }} as period_start,
        agent_days.*
    from {{ ref('int_agent_daily') }} as agent_days
),

periods as (
    select
        account_id,
        period_start,
        agent_id,
        cast(sum(chats) as bigint) as chats,
        cast(sum(chats_rated_good) as bigint) as chats_rated_good,
        cast(sum(chats_rated_bad) as bigint) as chats_rated_bad,
        cast(sum(ranked_good) as bigint) as ranked_good,
        cast(sum(ranked_good + ranked_bad) as bigint) as ranked_chats,
        sum(first_response_time_seconds_sum) as first_response_time_seconds_sum,
        cast(sum(chats_with_first_response) as bigint) as chats_with_first_response,
        sum(chatting_time_seconds) as chatting_time_seconds,
        sum(logged_in_time_seconds) as logged_in_time_seconds,
        sum(accepting_chats_time_seconds) as accepting_chats_time_seconds,
        sum(not_accepting_chats_time_seconds) as not_accepting_chats_time_seconds
    from agent_days
    group by account_id, period_start, agent_id
),

completeness as (
    select account_id, period_start, is_partial_period
    from {{ ref('int_period_completeness') }}
    where grain = '{{ grain }}'
),

wilson as (
    select
        periods.*,
        cast(ranked_good as double precision) / nullif(ranked_chats, 0) as p,
        2.69 * 2.69 / (4.0 * nullif(ranked_chats, 0)) as zz
    from periods
),

final as (
    select
        wilson.account_id,
        wilson.period_start as {{ livechat.period_column(grain) }},
        wilson.agent_id,
        coalesce(completeness.is_partial_period, true) as is_partial_period,
        chats,
        chats_rated_good,
        chats_rated_bad,
        (p + 2 * zz - 2.69 * sqrt((zz / ranked_chats + p * (1 - p)) / ranked_chats))
            / (1 + 4 * zz) as ranking_score,
        {{ livechat.as_double('first_response_time_seconds_sum') }}
            / nullif(chats_with_first_response, 0) as avg_first_response_time_seconds,
        {{ livechat.as_double('chatting_time_seconds') }} as chatting_time_seconds,
        {{ livechat.as_double('logged_in_time_seconds') }} as logged_in_time_seconds,
        {{ livechat.as_double('accepting_chats_time_seconds') }} as accepting_chats_time_seconds,
        {{ livechat.as_double('not_accepting_chats_time_seconds') }}
            as not_accepting_chats_time_seconds
    from wilson
    left join completeness
        on completeness.account_id = wilson.account_id
        and completeness.period_start = wilson.period_start
)

select * from final
{%- endmacro %}
