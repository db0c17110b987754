-- tag_usage_weekly: grain = one row per account_id, week_start and tag.
-- share_of_chats is the tag's chats over all chats of the period (a chat can carry several
-- tags, so shares need not add up to 1).
{{ livechat.tag_usage_rollup('weekly') }}
