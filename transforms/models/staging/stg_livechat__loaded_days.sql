-- grain: one row per account_id and report_date that a finished load requested.
-- A day is complete when one finished load requested every report it loaded for that day after
-- the day had ended in the account's timezone (the day's 24:00, in the request's `timezone`):
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

digits as (
    {%- for digit in range(10) %}
    select {{ digit }} as digit{% if not loop.last %} union all{% endif %}
    {%- endfor %}
),

{#- 0..999: more days than any request window covers (`window_days` is at most 366). #}
offsets as (
    select hundreds.digit * 100 + tens.digit * 10 + ones.digit as day_offset
    from digits as hundreds
    cross join digits as tens
    cross join digits as ones
),

requested_days as (
    select
        requests.account_id,
        requests.load_id,
        requests.timezone,
        requests.requested_at,
        cast({{ dbt.dateadd('day', 'offsets.day_offset', 'requests.window_from') }} as date)
            as report_date
    from requests
    inner join offsets
        on offsets.day_offset <= {{ dbt.datediff('requests.window_from', 'requests.window_to', 'day') }}
),

per_load as (
    select
        account_id,
        report_date,
        load_id,
        min(requested_at) as first_requested_at,
        max(requested_at) as last_requested_at,
        max(timezone) as timezone
    from requested_days
    group by account_id, report_date, load_id
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
    from per_load
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
