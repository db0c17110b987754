-- grain: one row per account_id and report_date
select
    account_id,
    report_date,
    cast(unique_visitors as bigint) as unique_visitors,
    cast(page_views as bigint) as page_views
from {{ table('customers_unique_visitors') }}
