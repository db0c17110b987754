{#
  kpi_rollup(grain, keys): the kpi mart at one grain (daily, weekly or monthly) and breakdown
  (`keys`: ['account_id'] for kpi_<grain>, ['account_id', 'group_id'] for kpi_<grain>_by_group).
  kpi_<grain>[_by_group]: grain = one row per <keys> and <period column> (ISO weeks start on
  Monday), from int_kpi_daily[_by_group].
  Sums are summed; averages are re-weighted by their counts (never an average of averages),
  from exact sums (macros/exact.sql) divided once, so equal rows give equal bits;
  missed_chat_rate is the missed chats over all chats of the days that have both numbers; rates
  are null when there is nothing to divide by. Per account, unique visitors come from the API's
  answer for the whole <period>, never a sum of days; per group there are none (the API has no
  per-group number). Per account, queue_abandonment_rate is the visitors who left the queue over
  all who queued (per group there are no queue columns yet). Every grain carries
  is_partial_period from int_period_completeness: true until every day of the <period> is
  complete for the account (requested by a finished load after the day had ended); per group,
  the account's days decide (a group without chats on a day has no row, and that is complete).
#}
{% macro kpi_rollup(grain, keys=['account_id']) -%}
{%- set suffix = livechat.breakdown_suffix(keys) -%}
{%- set by = keys | join(', ') -%}
{%- set per_account = suffix == '' -%}
{#- Where unique visitors come from: the day itself, the period's own answer, or nowhere. -#}
{%- set visitors = none if not per_account else ('days' if grain == 'daily' else 'periods') -%}
with

days as (
    select
        {{ livechat.period_start(grain, 'report_date') }} as period_start,
        days.*
    from {{ ref('int_kpi_daily' ~ suffix) }} as days
),

periods as (
    select
        {{ by }},
        period_start,
        cast(sum(total_chats) as bigint) as total_chats,
        cast(sum(continuous_chats) as bigint) as continuous_chats,
        cast(sum(missed_chats) as bigint) as missed_chats,
        cast(sum(case when total_chats is not null then missed_chats end) as bigint)
            as missed_rate_missed_chats,
        cast(sum(case when missed_chats is not null then total_chats end) as bigint)
            as missed_rate_total_chats,
        cast(sum(chats_rated_good) as bigint) as chats_rated_good,
        cast(sum(chats_rated_bad) as bigint) as chats_rated_bad,
        sum(chat_duration_seconds_sum) as chat_duration_seconds_sum,
        cast(sum(chat_duration_chats) as bigint) as chat_duration_chats,
        sum(response_time_seconds_sum) as response_time_seconds_sum,
        cast(sum(response_time_chats) as bigint) as response_time_chats,
        sum(first_response_time_seconds_sum) as first_response_time_seconds_sum,
        cast(sum(first_response_time_chats) as bigint) as first_response_time_chats,
        cast(sum(chats_started_by_agent) as bigint) as chats_started_by_agent,
        cast(sum(chats_started_by_customer) as bigint) as chats_started_by_customer,
        cast(sum(chats_from_greetings) as bigint) as chats_from_greetings,
        {%- if visitors == 'days' %}
        cast(sum(unique_visitors) as bigint) as unique_visitors,
        cast(sum(page_views) as bigint) as page_views,
        {%- endif %}
        sum(available_hours) as available_hours
        {%- if per_account %},
        cast(sum(queued_visitors) as bigint) as queued_visitors,
        cast(sum(left_queue_visitors) as bigint) as left_queue_visitors
        {%- endif %}
    from days
    group by {{ by }}, period_start
),
{%- if visitors == 'periods' %}

visitors as (
    select account_id, period_start, unique_visitors, page_views
    from {{ ref('stg_livechat__customers_unique_visitors_by_period') }}
    where period = '{{ livechat.period_name(grain) }}'
),
{%- endif %}

completeness as (
    select account_id, period_start, is_partial_period
    from {{ ref('int_period_completeness') }}
    where grain = '{{ grain }}'
),

final as (
    select
        {%- for key in keys %}
        periods.{{ key }},
        {%- endfor %}
        periods.period_start as {{ livechat.period_column(grain) }},
        coalesce(completeness.is_partial_period, true) as is_partial_period,
        periods.total_chats,
        periods.continuous_chats,
        periods.missed_chats,
        cast(periods.missed_rate_missed_chats as double precision)
            / nullif(periods.missed_rate_total_chats, 0) as missed_chat_rate,
        periods.chats_rated_good,
        periods.chats_rated_bad,
        cast(periods.chats_rated_good as double precision)
            / nullif(periods.chats_rated_good + periods.chats_rated_bad, 0) as satisfaction_rate,
        {{ livechat.as_double('periods.chat_duration_seconds_sum') }}
            / nullif(periods.chat_duration_chats, 0) as avg_chat_duration_seconds,
        {{ livechat.as_double('periods.response_time_seconds_sum') }}
            / nullif(periods.response_time_chats, 0) as avg_response_time_seconds,
        {{ livechat.as_double('periods.first_response_time_seconds_sum') }}
            / nullif(periods.first_response_time_chats, 0) as avg_first_response_time_seconds,
        periods.chats_started_by_agent,
        periods.chats_started_by_customer,
        periods.chats_from_greetings,
        {%- if visitors == 'days' %}
        periods.unique_visitors,
        periods.page_views,
        {%- elif visitors == 'periods' %}
        visitors.unique_visitors,
        visitors.page_views,
        {%- endif %}
        {{ livechat.as_double('periods.available_hours') }} as available_hours
        {%- if per_account %},
        periods.queued_visitors,
        periods.left_queue_visitors,
        cast(periods.left_queue_visitors as double precision)
            / nullif(periods.queued_visitors, 0) as queue_abandonment_rate
        {%- endif %}
    from periods
    {%- if visitors == 'periods' %}
    left join visitors
        on visitors.account_id = periods.account_id and visitors.period_start = periods.period_start
    {%- endif %}
    left join completeness
        on completeness.account_id = periods.account_id
        and completeness.period_start = periods.period_start
)

select * from final
{%- endmacro %}
