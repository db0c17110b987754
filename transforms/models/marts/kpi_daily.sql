-- kpi_daily: grain = one row per account_id and report_date.
-- Rates are null when there is nothing to divide by; missed_chat_rate is missed / total chats.
{{ livechat.kpi_rollup('daily') }}
