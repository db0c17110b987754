{#
  kpi_daily_parts(keys): the additive parts of every KPI per day, for one breakdown: `keys` is
  ['account_id'] (int_kpi_daily) or ['account_id', 'group_id'] (int_kpi_daily_by_group, read
  from the `_by_group` staging models). Sums and counts only, averages carried as
  (sum of value x count, count), so that any longer period rolls up exactly; the sums of
  seconds and hours are exact decimals (macros/exact.sql), so no sum depends on row order.
  A report without a row for the day (not loaded, or not for that day) leaves its columns null;
  a report that has the day counts a metric the API omitted as zero.
  Unique visitors and page views are per account only: the API has no per-group number. So are
  the queue counts, for now (the per-group queue table is not read yet).
#}
{% macro kpi_daily_parts(keys) -%}
{%- set suffix = livechat.breakdown_suffix(keys) -%}
{%- set by = keys | join(', ') -%}
{%- set per_account = suffix == '' -%}
{%- set parts = ['total_chats', 'missed_chats', 'ratings', 'durations', 'response_times',
    'first_response_times', 'engagement', 'availability'] -%}
{%- if per_account -%}
    {%- do parts.extend(['visitors', 'queues']) -%}
{%- endif -%}
with

total_chats as (
    select {{ by }}, report_date,
        cast(coalesce(sum(total_chats), 0) as bigint) as total_chats,
        cast(coalesce(sum(continuous_chats), 0) as bigint) as continuous_chats
    from {{ ref('stg_livechat__chats_total_chats' ~ suffix) }}
    group by {{ by }}, report_date
),

missed_chats as (
    select {{ by }}, report_date,
        cast(coalesce(sum(missed_chats), 0) as bigint) as missed_chats
    from {{ ref('stg_livechat__chats_missed_chats' ~ suffix) }}
    group by {{ by }}, report_date
),

ratings as (
    select {{ by }}, report_date,
        cast(coalesce(sum(chats_rated_good), 0) as bigint) as chats_rated_good,
        cast(coalesce(sum(chats_rated_bad), 0) as bigint) as chats_rated_bad
    from {{ ref('stg_livechat__chats_ratings' ~ suffix) }}
    group by {{ by }}, report_date
),

durations as (
    select {{ by }}, report_date,
        sum({{ livechat.exact('avg_chat_duration_seconds') }} * chats) as chat_duration_seconds_sum,
        cast(coalesce(sum(case when avg_chat_duration_seconds is not null then chats end), 0)
            as bigint) as chat_duration_chats
    from {{ ref('stg_livechat__chats_duration' ~ suffix) }}
    group by {{ by }}, report_date
),

response_times as (
    select {{ by }}, report_date,
        sum({{ livechat.exact('avg_response_time_seconds') }} * chats_with_response)
            as response_time_seconds_sum,
        cast(coalesce(sum(case when avg_response_time_seconds is not null then chats_with_response end), 0)
            as bigint) as response_time_chats
    from {{ ref('stg_livechat__chats_response_time' ~ suffix) }}
    group by {{ by }}, report_date
),

first_response_times as (
    select {{ by }}, report_date,
        sum({{ livechat.exact('avg_first_response_time_seconds') }} * chats_with_first_response)
            as first_response_time_seconds_sum,
        cast(coalesce(sum(case when avg_first_response_time_seconds is not null then chats_with_first_response end), 0)
            as bigint) as first_response_time_chats
    from {{ ref('stg_livechat__chats_first_response_time' ~ suffix) }}
    group by {{ by }}, report_date
),

engagement as (
    select {{ by }}, report_date,
        cast(coalesce(sum(chats_started_by_agent), 0) as bigint) as chats_started_by_agent,
        cast(coalesce(sum(chats_from_greetings), 0) + coalesce(sum(chats_from_customers_without_greeting), 0)
            as bigint) as chats_started_by_customer,
        cast(coalesce(sum(chats_from_greetings), 0) as bigint) as chats_from_greetings
    from {{ ref('stg_livechat__chats_engagement' ~ suffix) }}
    group by {{ by }}, report_date
),
{%- if per_account %}

visitors as (
    select {{ by }}, report_date,
        cast(sum(unique_visitors) as bigint) as unique_visitors,
        cast(sum(page_views) as bigint) as page_views
    from {{ ref('stg_livechat__customers_unique_visitors') }}
    group by {{ by }}, report_date
),

queues as (
    select {{ by }}, report_date,
        cast(coalesce(sum(queued_visitors), 0) as bigint) as queued_visitors,
        cast(coalesce(sum(left_queue_visitors), 0) as bigint) as left_queue_visitors
    from {{ ref('stg_livechat__chats_queued_visitors') }}
    group by {{ by }}, report_date
),
{%- endif %}

availability as (
    select {{ by }}, report_date,
        sum({{ livechat.exact('available_hours') }}) as available_hours
    from {{ ref('stg_livechat__agents_availability' ~ suffix) }}
    group by {{ by }}, report_date
),

days as (
    {%- for part in parts %}
    {% if not loop.first %}union {% endif %}select {{ by }}, report_date from {{ part }}
    {%- endfor %}
),

final as (
    select
        {%- for key in keys %}
        days.{{ key }},
        {%- endfor %}
        days.report_date,
        total_chats.total_chats,
        total_chats.continuous_chats,
        missed_chats.missed_chats,
        ratings.chats_rated_good,
        ratings.chats_rated_bad,
        durations.chat_duration_seconds_sum,
        durations.chat_duration_chats,
        response_times.response_time_seconds_sum,
        response_times.response_time_chats,
        first_response_times.first_response_time_seconds_sum,
        first_response_times.first_response_time_chats,
        engagement.chats_started_by_agent,
        engagement.chats_started_by_customer,
        engagement.chats_from_greetings,
        {%- if per_account %}
        visitors.unique_visitors,
        visitors.page_views,
        {%- endif %}
        availability.available_hours
        {%- if per_account %},
        queues.queued_visitors,
        queues.left_queue_visitors
        {%- endif %}
    from days
    {%- for part in parts %}
    left join {{ part }}
        on {{ livechat.same_key(part, 'days', keys + ['report_date']) }}
    {%- endfor %}
)

select * from final
{%- endmacro %}
