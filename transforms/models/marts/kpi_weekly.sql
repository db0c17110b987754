-- kpi_weekly: grain = one row per account_id and week_start (ISO weeks start on Monday).
-- Sums are summed; averages are re-weighted by their counts (never an average of averages);
-- unique visitors come from the API's answer for the whole week, never a sum of days.
-- is_partial_period is true when the loaded days cover only part of the week.
{{ livechat.kpi_rollup('weekly') }}
