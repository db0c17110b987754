-- grains: weekly, monthly
-- tag_usage_{grain}: grain = one row per account_id, {{ period_column }} and tag.
-- share_of_chats is the tag's chats over all chats of the period (a chat can carry several
-- tags, so shares need not add up to 1).
with

tag_days as (
    select {{ period_start('report_date') }} as period_start, account_id, tag, chats
    from {{ ref('stg_livechat__tags_chat_usage') }}
),

tags as (
    select account_id, period_start, tag, cast(sum(chats) as bigint) as chats
    from tag_days
    group by account_id, period_start, tag
),

chat_totals as (
    select {{ period_start('report_date') }} as period_start, account_id, cast(sum(total_chats) as bigint) as total_chats
    from {{ ref('stg_livechat__chats_total_chats') }}
    group by {{ period_start('report_date') }}, account_id
),

final as (
    select
        tags.account_id,
        tags.period_start as {{ period_column }},
        tags.tag,
        tags.chats,
        cast(tags.chats as double precision) / nullif(chat_totals.total_chats, 0) as share_of_chats
    from tags
    left join chat_totals
        on chat_totals.account_id = tags.account_id
        and chat_totals.period_start = tags.period_start
)

select * from final
