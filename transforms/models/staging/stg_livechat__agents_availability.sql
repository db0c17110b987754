-- grain: one row per account_id and report_date (and report_hour: null when loaded by the day)
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
-- The API sends hours for day buckets and minutes for hour buckets; both become hours here.
select
    account_id,
    report_date,
    report_hour,
    cast(coalesce(hours, minutes / 60.0) as double precision) as available_hours
from {{ livechat_source('agents_availability') }} as loaded
where not exists (
    select 1 from {{ ref('stg_livechat__unfinished_loads') }} as unfinished
    where unfinished.account_id = loaded.account_id and unfinished.report_date = loaded.report_date
)
