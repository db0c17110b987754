-- grain: one row per account_id, group_id and report_date (and report_hour: null when loaded by the day)
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
-- The hours the group's agents were available (an agent of several groups counts in each).
-- The API sends hours for day buckets and minutes for hour buckets; both become hours here.
select
    account_id,
    group_id,
    report_date,
    report_hour,
    cast(coalesce(hours, minutes / 60.0) as double precision) as available_hours
from {{ livechat_source('agents_availability_by_group') }} as loaded
where {{ livechat.finished_day('loaded') }}
