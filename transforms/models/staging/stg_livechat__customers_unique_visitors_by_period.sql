-- grain: one row per account_id, period (week or month) and period_start
-- Only rows of finished loads (stg_livechat__unfinished_loads names the others).
select
    account_id,
    period,
    period_start,
    period_end,
    cast(unique_visitors as bigint) as unique_visitors,
    cast(page_views as bigint) as page_views
from {{ livechat_source('customers_unique_visitors_by_period') }} as loaded
where loaded._dlt_load_id in (select load_id from {{ livechat_source('_dlt_loads') }} as loads where status = 0)
