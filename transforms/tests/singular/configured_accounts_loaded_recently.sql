{#
  Fails when an account that is configured (account_freshness.is_configured) has not been
  loaded successfully for more than `livechat_stale_after_hours` hours (default 26: a daily
  schedule, with two hours to spare) before livechat.now(), naming each such account; a
  scheduler that runs the package's tests fails on it. `severity: warn` (in the project that
  installs the package) makes it a warning that still names them.
#}
{%- set hours = var('livechat_stale_after_hours', env_var('LIVECHAT_STALE_AFTER_HOURS', 26)) | int -%}

{%- set stale -%}
select account_id, last_loaded_at, last_complete_day
from {{ ref('account_freshness') }}
where is_configured
    and (
        last_loaded_at is null
        or last_loaded_at < {{ dbt.dateadd('hour', -hours, livechat.now()) }}
    )
{%- endset -%}

{%- if execute -%}
    {%- set found = run_query(stale ~ ' order by account_id') -%}
    {%- if found.rows | length > 0 -%}
        {%- set named = [] -%}
        {%- for row in found.rows -%}
            {%- do named.append(
                row[0] ~ ' (last loaded ' ~ (row[1] or 'never') ~ ', last complete day '
                ~ (row[2] or 'none') ~ ')'
            ) -%}
        {%- endfor -%}
        {%- set message = 'Accounts not loaded successfully in the last ' ~ hours ~ ' hours: '
            ~ named | join('; ') ~ '. Check their tokens and the load log, or remove their'
            ~ ' sections (livechat_stale_after_hours sets the hours).' -%}
        {%- if (config.get('severity') or 'error') | lower == 'warn' -%}
            {%- do exceptions.warn(message) -%}
        {%- else -%}
            {%- do exceptions.raise_compiler_error(message) -%}
        {%- endif -%}
    {%- endif -%}
{%- endif %}

-- grain: one row per configured account whose last successful load is too old
{{ stale }}
