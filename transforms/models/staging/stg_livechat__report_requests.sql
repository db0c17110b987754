-- grain: one row per API request (and page) a load made
-- Only rows of finished loads (stg_livechat__unfinished_loads names the others). group_id is the
-- group of a per-group request (its `<table>_by_group` rows), null for the account's own.
select
    account_id,
    report,
    table_name,
    window_from,
    window_to,
    period,
    timezone,
    distribution,
    filters,
    group_id,
    cast(page as bigint) as page,
    cast(http_status as bigint) as http_status,
    cast(attempts as bigint) as attempts,
    cast(duration_seconds as double precision) as duration_seconds,
    cast(response_total as double precision) as response_total,
    requested_at,
    _dlt_load_id as load_id
from {{ livechat_source('report_requests') }} as loaded
where loaded._dlt_load_id in (select load_id from {{ livechat_source('_dlt_loads') }} as loads where status = 0)
