{#
  kpi_rollup(grain): the kpi mart at one grain (daily, weekly or monthly).
  kpi_<grain>: grain = one row per account_id and <period column> (ISO weeks start on Monday).
  Sums are summed; averages are re-weighted by their counts (never an average of averages);
  unique visitors come from the API's answer for the whole <period>, never a sum of days.
  is_partial_period is true when the loaded days cover only part of the <period>.
#}
{% macro kpi_rollup(grain) -%}
with

days as (
    select
        {{ livechat.period_start(grain, 'report_date') }} as period_start,
        days.*
    from {{ ref('int_kpi_daily') }} as days
),

periods as (
    select
        account_id,
        period_start,
        count(*) as days_loaded,
        cast(sum(total_chats) as bigint) as total_chats,
        cast(sum(continuous_chats) as bigint) as continuous_chats,
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
        sum(available_hours) as available_hours
    from days
    group by account_id, period_start
),

visitors as (
    select account_id, period_start, unique_visitors, page_views
    from {{ ref('stg_livechat__customers_unique_visitors_by_period') }}
    where period = '{{ livechat.period_name(grain) }}'
),

final as (
    select
        periods.account_id,
        periods.period_start as {{ livechat.period_column(grain) }},
        periods.days_loaded < {{ livechat.period_days(grain, 'periods.period_start') }} as is_partial_period,
        periods.total_chats,
        periods.continuous_chats,
        periods.chats_rated_good,
        periods.chats_rated_bad,
        cast(periods.chats_rated_good as double precision)
            / nullif(periods.chats_rated_good + periods.chats_rated_bad, 0) as satisfaction_rate,
        periods.chat_duration_seconds_sum
            / nullif(periods.chat_duration_chats, 0) as avg_chat_duration_seconds,
        periods.response_time_seconds_sum
            / nullif(periods.response_time_chats, 0) as avg_response_time_seconds,
        periods.first_response_time_seconds_sum
            / nullif(periods.first_response_time_chats, 0) as avg_first_response_time_seconds,
        periods.chats_started_by_agent,
        periods.chats_started_by_customer,
        periods.chats_from_greetings,
        visitors.unique_visitors,
        visitors.page_views,
        periods.available_hours
    from periods
    left join visitors
        on visitors.account_id = periods.account_id and visitors.period_start = periods.period_start
)

select * from final
{%- endmacro %}
