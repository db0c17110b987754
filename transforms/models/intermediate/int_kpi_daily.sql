-- grain: one row per account_id and report_date that any KPI table has a row for.
-- The additive parts of every KPI (sums and counts), so that any longer period can be rolled up
-- exactly: averages are carried as (sum of value x count, count), never as averages.
-- A report without a row for the day (not loaded, or not for that day) leaves its columns null;
-- a report that has the day counts a metric the API omitted as zero.
{{ livechat.kpi_daily_parts(['account_id']) }}
