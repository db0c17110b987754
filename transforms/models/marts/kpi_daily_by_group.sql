-- kpi_daily_by_group: grain = one row per account_id, group_id and report_date.
-- Each group's KPIs by the account marts' rules, from the per-group tables (empty unless the
-- group breakdown is loaded). No unique visitors or page views: the API has none per group.
-- Groups need not add up to the account (a transferred chat can count in more than one group).
{{ livechat.kpi_rollup('daily', ['account_id', 'group_id']) }}
