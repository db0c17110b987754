-- grain: one row per account_id, group_id and report_date that any per-group KPI table has a row for.
-- The additive parts of every KPI per group, as int_kpi_daily, from the `<table>_by_group`
-- tables (loaded only when the group breakdown is on; otherwise this view is empty). No unique
-- visitors or page views: the API has no per-group number for them.
{{ livechat.kpi_daily_parts(['account_id', 'group_id']) }}
