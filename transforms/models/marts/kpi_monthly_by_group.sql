-- kpi_monthly_by_group: grain = one row per account_id, group_id and month_start.
-- Each group's KPIs by the account marts' rules: sums summed, averages re-weighted by their
-- counts; is_partial_period when the group's loaded days cover only part of the month.
-- Groups need not add up to the account (a transferred chat can count in more than one group).
{{ livechat.kpi_rollup('monthly', ['account_id', 'group_id']) }}
