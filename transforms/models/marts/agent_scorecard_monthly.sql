-- agent_scorecard_monthly: grain = one row per account_id, month_start and agent_id.
-- ranking_score is LiveChat's Wilson score (Z = 2.69) of the period's good and bad ratings,
-- recomputed from the counts, never summed or averaged; null without rated chats.
-- avg_first_response_time_seconds is weighted by the chats that had a first response.
{{ livechat.agent_scorecard_rollup('monthly') }}
