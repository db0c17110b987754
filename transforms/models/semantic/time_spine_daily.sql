-- grain: one row per calendar day (date_day), from 2000-01-01 to 2099-12-31.
-- The time spine MetricFlow needs at day grain (dbt's `time_spine:` config in _semantic.yml):
-- the days a metric's periods are laid on. It reads no table, so it never needs rebuilding.
with

digits as (
    select n from (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as digits (n)
),

offsets as (
    select
        ones.n + 10 * tens.n + 100 * hundreds.n + 1000 * thousands.n + 10000 * myriads.n
            as day_offset
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
    cross join digits as myriads
),

final as (
    select cast({{ dbt.dateadd('day', 'day_offset', "cast('2000-01-01' as date)") }} as date)
        as date_day
    from offsets
)

select date_day from final
where date_day < cast('2100-01-01' as date)
