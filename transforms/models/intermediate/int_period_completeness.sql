-- grain: one row per account_id, grain (daily, weekly, monthly) and period_start holding a day
-- that a finished load requested.
-- A period is partial until every one of its days is complete (stg_livechat__loaded_days: a
-- finished load requested the day after it had ended in the account's timezone). A week whose
-- Sunday was loaded at 06:15 that Sunday is partial until the Monday load requests the Sunday
-- again; a period with days never requested is partial too. Every mart with a period grain
-- takes is_partial_period from here, so the flag means the same everywhere.
with

days as (
    select account_id, report_date, is_complete
    from {{ ref('stg_livechat__loaded_days') }}
),
{%- for grain in ['daily', 'weekly', 'monthly'] %}

{{ grain }} as (
    select
        account_id,
        '{{ grain }}' as grain,
        {{ livechat.period_start(grain, 'report_date') }} as period_start,
        cast(sum(case when is_complete then 1 else 0 end) as bigint) as complete_days
    from days
    group by account_id, {{ livechat.period_start(grain, 'report_date') }}
),
{%- endfor %}

periods as (
    {%- for grain in ['daily', 'weekly', 'monthly'] %}
    select
        account_id,
        grain,
        period_start,
        complete_days,
        {{ livechat.period_days(grain, 'period_start') }} as period_days
    from {{ grain }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

final as (
    select
        account_id,
        grain,
        period_start,
        complete_days,
        cast(period_days as bigint) as period_days,
        complete_days < period_days as is_partial_period
    from periods
)

select * from final
