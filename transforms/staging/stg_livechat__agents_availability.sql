-- grain: one row per account_id and report_date (per report_hour when loaded hourly)
-- The API sends hours for day buckets and minutes for hour buckets; both become hours here.
select
    account_id,
    report_date,
    cast(coalesce(hours, minutes / 60.0) as double precision) as available_hours
from {{ table('agents_availability') }}
