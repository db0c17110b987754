{#- Days whose week_start is not the Monday of their ISO week on this engine (none expected). -#}
with

days as (
    select cast('2024-01-07' as date) as day, cast('2024-01-01' as date) as monday  -- a Sunday
    union all select cast('2024-01-08' as date), cast('2024-01-08' as date)          -- a Monday
    union all select cast('2024-12-31' as date), cast('2024-12-30' as date)          -- across years
    union all select cast('2021-01-03' as date), cast('2020-12-28' as date)          -- ISO week 53
)

select day, monday, {{ livechat.week_start('day') }} as week_start
from days
where {{ livechat.week_start('day') }} <> monday
