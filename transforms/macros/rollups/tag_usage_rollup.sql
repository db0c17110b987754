{#
  tag_usage_rollup(grain): the tag_usage mart at one grain (daily, weekly or monthly).
  tag_usage_<grain>: grain = one row per account_id, <period column> and tag.
  share_of_chats is the tag's chats over all chats of the period (a chat can carry several
  tags, so shares need not add up to 1). is_partial_period: true until every day of the period
  is complete (int_period_completeness).
#}
{% macro tag_usage_rollup(grain) -%}
with

tag_days as (
    select {{ livechat.period_start(grain, 'report_date') }} as period_start, account_id, tag, chats
    from {{ ref('stg_livechat__tags_chat_usage') }}
),

tags as (
    select account_id, period_start, tag, cast(sum(chats) as bigint) as chats
    from tag_days
    group by account_id, period_start, tag
),

chat_totals as (
    select {{ livechat.period_start(grain, 'report_date') }} as period_start, account_id, cast(sum(total_chats) as bigint) as total_chats
    from {{ ref('stg_livechat__chats_total_chats') }}
    group by {{ livechat.period_start(grain, 'report_date') }}, account_id
),

completeness as (
    select account_id, period_start, is_partial_period
    from {{ ref('int_period_completeness') }}
    where grain = '{{ grain }}'
),

final as (
    select
        tags.account_id,
        tags.period_start as {{ livechat.period_column(grain) }},
        tags.tag,
        coalesce(completeness.is_partial_period, true) as is_partial_period,
        tags.chats,
        cast(tags.chats as double precision) / nullif(chat_totals.total_chats, 0) as share_of_chats
    from tags
    left join chat_totals
        on chat_totals.account_id = tags.account_id
        and chat_totals.period_start = tags.period_start
    left join completeness
        on completeness.account_id = tags.account_id
        and completeness.period_start = tags.period_start
)

select * from final
{%- endmacro %}
