-- kpi_monthly: grain = one row per account_id and month_start.
-- Sums are summed; averages are re-weighted by their counts (never an average of averages);
-- unique visitors come from the API's answer for the whole month, never a sum of days.
-- is_partial_period is true when the loaded days cover only part of the month.
{{ livechat.kpi_rollup('monthly') }}
