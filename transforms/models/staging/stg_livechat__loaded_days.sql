-- grain: one row per account_id and report_date that a finished load requested.
-- A day is complete when a finished load that requested it had started after the day had ended
-- in the account's timezone (the day's 24:00, in the requests' `timezone`):
-- a load that ran while the day was still going on (today, with a 06:15 schedule) saw only part
-- of its chats. Requests for a whole week or month (unique visitors per period) say nothing
-- about single days and are left out. Ratings can still arrive after a day has ended; each run
-- requests the last `lookback_days` again, so those days keep changing until they fall out of
-- the lookback (the README says how long that is). A day that an unfinished load wrote rows
-- for is not complete: the staging views hide it until the next run finishes that load.
with

requests as (
    select account_id, load_id, window_from, window_to, timezone, requested_at
    from {{ ref('stg_livechat__report_requests') }}
    where period is null
),

unfinished as (
    select distinct account_id, report_date
    from {{ ref('stg_livechat__unfinished_loads') }}
    where report_date is not null
),

{#- One load asks for its days within minutes and for a contiguous range of them (every window of
    a run ends on its last day), so a load's first request time stands for all of its days. -#}
loads as (
    select
        account_id,
        load_id,
        max(timezone) as timezone,
        min(requested_at) as first_requested_at,
        max(requested_at) as last_requested_at,
        min(window_from) as first_day,
        max(window_to) as last_day
    from requests
    group by account_id, load_id
),

digits as (
    {%- for digit in range(10) %}
    select {{ digit }} as digit{% if not loop.last %} union all{% endif %}
    {%- endfor %}
),

{#- 0..9999: more days than any load covers (27 years). #}
offsets as (
    select thousands.digit * 1000 + hundreds.digit * 100 + tens.digit * 10 + ones.digit
        as day_offset
    from digits as thousands
    cross join digits as hundreds
    cross join digits as tens
    cross join digits as ones
),

load_days as (
    select
        loads.account_id,
        loads.timezone,
        loads.first_requested_at,
        loads.last_requested_at,
        cast({{ dbt.dateadd('day', 'offsets.day_offset', 'loads.first_day') }} as date)
            as report_date
    from loads
    inner join offsets
        on offsets.day_offset <= {{ dbt.datediff('loads.first_day', 'loads.last_day', 'day') }}
),

days as (
    select
        account_id,
        report_date,
        max(last_requested_at) as fetched_at,
        max(
            case
                when first_requested_at >= {{ livechat.day_end('report_date', 'timezone') }}
                    then 1
                else 0
            end
        ) = 1 as requested_after_end
    from load_days
    group by account_id, report_date
),

final as (
    select
        days.account_id,
        days.report_date,
        days.fetched_at,
        days.requested_after_end and unfinished.report_date is null as is_complete
    from days
    left join unfinished
        on unfinished.account_id = days.account_id
        and unfinished.report_date = days.report_date
)

select * from final
