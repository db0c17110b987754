{#-
  Generated from the source's registry by `python -m transforms.generate`; do not edit.
  The loaded tables whose rows a load writes, and whether they are keyed by day: what
  stg_livechat__unfinished_loads looks through for rows of loads that did not finish.
-#}
{% macro livechat_tables() -%}
    {{ return({
        'agents_availability': true,
        'agents_availability_by_group': true,
        'agents_performance': true,
        'agents_performance_by_group': true,
        'chats_duration': true,
        'chats_duration_by_group': true,
        'chats_engagement': true,
        'chats_engagement_by_group': true,
        'chats_first_response_time': true,
        'chats_first_response_time_by_group': true,
        'chats_form_answers': true,
        'chats_form_answers_by_group': true,
        'chats_forms': true,
        'chats_forms_by_group': true,
        'chats_greetings_conversion': true,
        'chats_greetings_conversion_by_group': true,
        'chats_groups': true,
        'chats_missed_chats': true,
        'chats_missed_chats_by_group': true,
        'chats_queued_visitors': true,
        'chats_queued_visitors_left': true,
        'chats_ranking': true,
        'chats_ranking_by_group': true,
        'chats_ratings': true,
        'chats_ratings_by_group': true,
        'chats_response_time': true,
        'chats_response_time_by_group': true,
        'chats_tags': true,
        'chats_tags_by_group': true,
        'chats_total_chats': true,
        'chats_total_chats_by_group': true,
        'customers_unique_visitors': true,
        'customers_unique_visitors_by_period': false,
        'report_requests': false,
        'tags_chat_usage': true,
        'tags_chat_usage_by_group': true,
    }) }}
{%- endmacro %}
