-- greeting_funnel_monthly: grain = one row per account_id, month_start and greeting_id.
-- acceptance_rate = accepted / displayed; goal_rate = goals / accepted (the next funnel step).
-- is_partial_period: true until every day of the month is complete (int_period_completeness).
with

greeting_days as (
    select {{ livechat.month_start('report_date') }} as period_start, greetings.*
    from {{ ref('stg_livechat__chats_greetings_conversion') }} as greetings
),

months as (
    select
        account_id,
        period_start,
        greeting_id,
        cast(sum(displayed) as bigint) as displayed,
        cast(sum(accepted) as bigint) as accepted,
        cast(sum(canceled) as bigint) as canceled,
        cast(sum(goals) as bigint) as goals
    from greeting_days
    group by account_id, period_start, greeting_id
),

completeness as (
    select account_id, period_start, is_partial_period
    from {{ ref('int_period_completeness') }}
    where grain = 'monthly'
),

final as (
    select
        months.account_id,
        months.period_start as month_start,
        months.greeting_id,
        coalesce(completeness.is_partial_period, true) as is_partial_period,
        displayed,
        accepted,
        canceled,
        goals,
        cast(accepted as double precision) / nullif(displayed, 0) as acceptance_rate,
        cast(goals as double precision) / nullif(accepted, 0) as goal_rate
    from months
    left join completeness
        on completeness.account_id = months.account_id
        and completeness.period_start = months.period_start
)

select * from final
