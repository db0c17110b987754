-- grain: one row per account_id and load_id of a finished load (its row of account_loads)
-- What each load of an account recorded: the timezone, distribution and filters its rows mean,
-- the account ids configured when it ran, and when it ran (`loaded_at`, by the run's clock;
-- `committed_at`, when dlt recorded the load as finished). Rows of unfinished loads are left out.
select
    loaded.account_id,
    loaded.timezone,
    loaded.distribution,
    loaded.filters,
    loaded.configured_accounts,
    loaded.loaded_at,
    loads.inserted_at as committed_at,
    loaded._dlt_load_id as load_id
from {{ livechat_source('account_loads') }} as loaded
inner join {{ livechat_source('_dlt_loads') }} as loads
    on loads.load_id = loaded._dlt_load_id
where loads.status = 0
