-- group_chats_monthly: grain = one row per account_id, month_start and group_id.
-- share_of_chats is the group's chats over all chats of the month.
-- is_partial_period: true until every day of the month is complete (int_period_completeness).
with

group_days as (
    select {{ livechat.month_start('report_date') }} as period_start, account_id, group_id, chats
    from {{ ref('stg_livechat__chats_groups') }}
),

groups_ as (
    select account_id, period_start, group_id, cast(sum(chats) as bigint) as chats
    from group_days
    group by account_id, period_start, group_id
),

totals as (
    select account_id, period_start, cast(sum(chats) as bigint) as total_chats
    from groups_
    group by account_id, period_start
),

completeness as (
    select account_id, period_start, is_partial_period
    from {{ ref('int_period_completeness') }}
    where grain = 'monthly'
),

final as (
    select
        groups_.account_id,
        groups_.period_start as month_start,
        groups_.group_id,
        coalesce(completeness.is_partial_period, true) as is_partial_period,
        groups_.chats,
        cast(groups_.chats as double precision) / nullif(totals.total_chats, 0) as share_of_chats
    from groups_
    inner join totals
        on totals.account_id = groups_.account_id and totals.period_start = groups_.period_start
    left join completeness
        on completeness.account_id = groups_.account_id
        and completeness.period_start = groups_.period_start
)

select * from final
