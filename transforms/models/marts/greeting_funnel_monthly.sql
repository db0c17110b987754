-- greeting_funnel_monthly: grain = one row per account_id, month_start and greeting_id.
-- acceptance_rate = accepted / displayed; goal_rate = goals / accepted (the next funnel step).
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

final as (
    select
        account_id,
        period_start as month_start,
        greeting_id,
        displayed,
        accepted,
        canceled,
        goals,
        cast(accepted as double precision) / nullif(displayed, 0) as acceptance_rate,
        cast(goals as double precision) / nullif(accepted, 0) as goal_rate
    from months
)

select * from final
