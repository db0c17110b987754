-- grain: one row per account_id a finished load loaded into the dataset
-- How fresh each account's numbers are, so a revoked token or a removed account shows:
--   last_complete_day  the last day a finished load fetched after it had ended (complete)
--   last_loaded_at     when the account's last successful load ran (`account_loads.loaded_at`;
--                      for datasets loaded before that table, the load's last request)
--   is_configured      whether the account was configured when the latest finished load of the
--                      dataset ran (each load records the configured account ids, on one of its
--                      rows): true until a load runs whose configuration lacks it, and true when
--                      no load recorded any
with

account_loads as (
    select * from {{ ref('stg_livechat__account_loads') }}
),

loaded_days as (
    select * from {{ ref('stg_livechat__loaded_days') }}
),

report_requests as (
    select * from {{ ref('stg_livechat__report_requests') }}
),

accounts as (
    select account_id from account_loads
    union
    select account_id from loaded_days
),

last_loads as (
    select account_id, max(loaded_at) as last_loaded_at
    from account_loads
    group by account_id
),

last_requests as (
    select account_id, max(requested_at) as last_requested_at
    from report_requests
    group by account_id
),

complete_days as (
    select account_id, max(report_date) as last_complete_day
    from loaded_days
    where is_complete
    group by account_id
),

ranked_configurations as (
    select
        configured_accounts,
        row_number() over (order by committed_at desc, load_id desc) as recency
    from account_loads
    where configured_accounts is not null
),

latest_configuration as (
    select configured_accounts from ranked_configurations where recency = 1
),

final as (
    select
        accounts.account_id,
        complete_days.last_complete_day,
        coalesce(last_loads.last_loaded_at, last_requests.last_requested_at) as last_loaded_at,
        case
            when latest_configuration.configured_accounts is null then true
            -- a JSON list of ids: the id in quotes is one of its elements
            else {{ dbt.position(
                dbt.concat(["'\"'", 'accounts.account_id', "'\"'"]),
                'latest_configuration.configured_accounts'
            ) }} > 0
        end as is_configured
    from accounts
    left join last_loads on last_loads.account_id = accounts.account_id
    left join last_requests on last_requests.account_id = accounts.account_id
    left join complete_days on complete_days.account_id = accounts.account_id
    left join latest_configuration on 1 = 1
)

select * from final
