-- grain: one row per account_id and report_date
-- Leaves out the days of unfinished loads (stg_livechat__unfinished_loads).
select
    account_id,
    report_date,
    cast(unique_visitors as bigint) as unique_visitors,
    cast(page_views as bigint) as page_views
from {{ livechat_source('customers_unique_visitors') }} as loaded
where {{ livechat.finished_day('loaded') }}
