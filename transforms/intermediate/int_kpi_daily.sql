-- grain: one row per account_id and report_date.
-- The additive parts of every KPI (sums and counts), so that any longer period can be rolled up
-- exactly: averages are carried as (sum of value x count, count), never as averages.
with

total_chats as (
    select account_id, report_date,
        cast(sum(total_chats) as bigint) as total_chats,
        cast(sum(continuous_chats) as bigint) as continuous_chats
    from {{ ref('stg_livechat__chats_total_chats') }}
    group by account_id, report_date
),

ratings as (
    select account_id, report_date,
        cast(sum(chats_rated_good) as bigint) as chats_rated_good,
        cast(sum(chats_rated_bad) as bigint) as chats_rated_bad
    from {{ ref('stg_livechat__chats_ratings') }}
    group by account_id, report_date
),

durations as (
    select account_id, report_date,
        sum(avg_chat_duration_seconds * chats) as chat_duration_seconds_sum,
        sum(case when avg_chat_duration_seconds is not null then chats end) as chat_duration_chats
    from {{ ref('stg_livechat__chats_duration') }}
    group by account_id, report_date
),

response_times as (
    select account_id, report_date,
        sum(avg_response_time_seconds * chats_with_response) as response_time_seconds_sum,
        sum(case when avg_response_time_seconds is not null then chats_with_response end)
            as response_time_chats
    from {{ ref('stg_livechat__chats_response_time') }}
    group by account_id, report_date
),

first_response_times as (
    select account_id, report_date,
        sum(avg_first_response_time_seconds * chats_with_first_response)
            as first_response_time_seconds_sum,
        sum(case when avg_first_response_time_seconds is not null then chats_with_first_response end)
            as first_response_time_chats
    from {{ ref('stg_livechat__chats_first_response_time') }}
    group by account_id, report_date
),

engagement as (
    select account_id, report_date,
        cast(sum(chats_started_by_agent) as bigint) as chats_started_by_agent,
        sum(coalesce(chats_from_greetings, 0) + coalesce(chats_from_customers_without_greeting, 0))
            as chats_started_by_customer,
        cast(sum(chats_from_greetings) as bigint) as chats_from_greetings
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

final as (
    select
        total_chats.account_id,
        total_chats.report_date,
        coalesce(total_chats.total_chats, 0) as total_chats,
        coalesce(total_chats.continuous_chats, 0) as continuous_chats,
        coalesce(ratings.chats_rated_good, 0) as chats_rated_good,
        coalesce(ratings.chats_rated_bad, 0) as chats_rated_bad,
        durations.chat_duration_seconds_sum,
        coalesce(durations.chat_duration_chats, 0) as chat_duration_chats,
        response_times.response_time_seconds_sum,
        coalesce(response_times.response_time_chats, 0) as response_time_chats,
        first_response_times.first_response_time_seconds_sum,
        coalesce(first_response_times.first_response_time_chats, 0) as first_response_time_chats,
        coalesce(engagement.chats_started_by_agent, 0) as chats_started_by_agent,
        coalesce(engagement.chats_started_by_customer, 0) as chats_started_by_customer,
        coalesce(engagement.chats_from_greetings, 0) as chats_from_greetings,
        visitors.unique_visitors,
        visitors.page_views,
        availability.available_hours
    from total_chats
    left join ratings
        on ratings.account_id = total_chats.account_id and ratings.report_date = total_chats.report_date
    left join durations
        on durations.account_id = total_chats.account_id and durations.report_date = total_chats.report_date
    left join response_times
        on response_times.account_id = total_chats.account_id
        and response_times.report_date = total_chats.report_date
    left join first_response_times
        on first_response_times.account_id = total_chats.account_id
        and first_response_times.report_date = total_chats.report_date
    left join engagement
        on engagement.account_id = total_chats.account_id
        and engagement.report_date = total_chats.report_date
    left join visitors
        on visitors.account_id = total_chats.account_id and visitors.report_date = total_chats.report_date
    left join availability
        on availability.account_id = total_chats.account_id
        and availability.report_date = total_chats.report_date
)

select * from final
