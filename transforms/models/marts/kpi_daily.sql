-- kpi_daily: grain = one row per account_id and report_date.
-- Rates are null when there is nothing to divide by.
with

days as (
    select * from {{ ref('int_kpi_daily') }}
),

final as (
    select
        account_id,
        report_date,
        total_chats,
        continuous_chats,
        chats_rated_good,
        chats_rated_bad,
        cast(chats_rated_good as double precision)
            / nullif(chats_rated_good + chats_rated_bad, 0) as satisfaction_rate,
        chat_duration_seconds_sum / nullif(chat_duration_chats, 0) as avg_chat_duration_seconds,
        response_time_seconds_sum / nullif(response_time_chats, 0) as avg_response_time_seconds,
        first_response_time_seconds_sum
            / nullif(first_response_time_chats, 0) as avg_first_response_time_seconds,
        chats_started_by_agent,
        chats_started_by_customer,
        chats_from_greetings,
        unique_visitors,
        page_views,
        available_hours
    from days
)

select * from final
