-- grain: one row per account_id and report_date that any KPI table has a row for.
-- The additive parts of every KPI (sums and counts), so that any longer period can be rolled up
-- exactly: averages are carried as (sum of value x count, count), never as averages.
-- A report without a row for the day (not loaded, or not for that day) leaves its columns null;
-- a report that has the day counts a metric the API omitted as zero.
with

total_chats as (
    select account_id, report_date,
        cast(coalesce(sum(total_chats), 0) as bigint) as total_chats,
        cast(coalesce(sum(continuous_chats), 0) as bigint) as continuous_chats
    from {{ ref('stg_livechat__chats_total_chats') }}
    group by account_id, report_date
),

ratings as (
    select account_id, report_date,
        cast(coalesce(sum(chats_rated_good), 0) as bigint) as chats_rated_good,
        cast(coalesce(sum(chats_rated_bad), 0) as bigint) as chats_rated_bad
    from {{ ref('stg_livechat__chats_ratings') }}
    group by account_id, report_date
),

durations as (
    select account_id, report_date,
        sum(avg_chat_duration_seconds * chats) as chat_duration_seconds_sum,
        cast(coalesce(sum(case when avg_chat_duration_seconds is not null then chats end), 0)
            as bigint) as chat_duration_chats
    from {{ ref('stg_livechat__chats_duration') }}
    group by account_id, report_date
),

response_times as (
    select account_id, report_date,
        sum(avg_response_time_seconds * chats_with_response) as response_time_seconds_sum,
        cast(coalesce(sum(case when avg_response_time_seconds is not null then chats_with_response end), 0)
            as bigint) as response_time_chats
    from {{ ref('stg_livechat__chats_response_time') }}
    group by account_id, report_date
),

first_response_times as (
    select account_id, report_date,
        sum(avg_first_response_time_seconds * chats_with_first_response)
            as first_response_time_seconds_sum,
        cast(coalesce(sum(case when avg_first_response_time_seconds is not null then chats_with_first_response end), 0)
            as bigint) as first_response_time_chats
    from {{ ref('stg_livechat__chats_first_response_time') }}
    group by account_id, report_date
),

engagement as (
    select account_id, report_date,
        cast(coalesce(sum(chats_started_by_agent), 0) as bigint) as chats_started_by_agent,
        cast(coalesce(sum(chats_from_greetings), 0) + coalesce(sum(chats_from_customers_without_greeting), 0)
            as bigint) as chats_started_by_customer,
        cast(coalesce(sum(chats_from_greetings), 0) as bigint) as chats_from_greetings
    from {{ ref('stg_livechat__chats_engagement') }}
    group by account_id, report_date
),

visitors as (
    select account_id, report_date,
        cast(sum(unique_visitors) as bigint) as unique_visitors,
        cast(sum(page_views) as bigint) as page_views
    from {{ ref('stg_livechat__customers_unique_visitors') }}
    group by account_id, report_date
),

availability as (
    select account_id, report_date,
        sum(available_hours) as available_hours
    from {{ ref('stg_livechat__agents_availability') }}
    group by account_id, report_date
),

days as (
    select account_id, report_date from total_chats
    union select account_id, report_date from ratings
    union select account_id, report_date from durations
    union select account_id, report_date from response_times
    union select account_id, report_date from first_response_times
    union select account_id, report_date from engagement
    union select account_id, report_date from visitors
    union select account_id, report_date from availability
),

final as (
    select
        days.account_id,
        days.report_date,
        total_chats.total_chats,
        total_chats.continuous_chats,
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
        visitors.unique_visitors,
        visitors.page_views,
        availability.available_hours
    from days
    left join total_chats
        on total_chats.account_id = days.account_id and total_chats.report_date = days.report_date
    left join ratings
        on ratings.account_id = days.account_id and ratings.report_date = days.report_date
    left join durations
        on durations.account_id = days.account_id and durations.report_date = days.report_date
    left join response_times
        on response_times.account_id = days.account_id
        and response_times.report_date = days.report_date
    left join first_response_times
        on first_response_times.account_id = days.account_id
        and first_response_times.report_date = days.report_date
    left join engagement
        on engagement.account_id = days.account_id and engagement.report_date = days.report_date
    left join visitors
        on visitors.account_id = days.account_id and visitors.report_date = days.report_date
    left join availability
        on availability.account_id = days.account_id
        and availability.report_date = days.report_date
)

select * from final
