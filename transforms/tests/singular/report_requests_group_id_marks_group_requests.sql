-- The lineage keeps each request's group: a request for a `<table>_by_group` table names its
-- group, and the account's own requests name none. Rows returned are requests that break this.
select table_name, group_id, load_id
from {{ ref('stg_livechat__report_requests') }}
where (group_id is not null) <> ({{ dbt.right('table_name', 9) }} = '_by_group')
