-- grain: one row per account_id, period (week or month) and period_start
select
    account_id,
    period,
    period_start,
    period_end,
    cast(unique_visitors as bigint) as unique_visitors,
    cast(page_views as bigint) as page_views
from {{ table('customers_unique_visitors_by_period') }}
