"""The LiveChat Reports source: one dlt resource per Reports API v3.6 report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import dlt
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource

from .client import (
    DEFAULT_BASE_URL,
    LiveChatClient,
    RequestPool,
    rehearsed_clock,
    utc_now,
    validate_rehearsal,
)
from .credentials import LiveChatCredentials, OAuthCredentials, PersonalAccessTokenCredentials
from .exceptions import ConfigurationError, LiveChatAPIError, LiveChatError, ResponseShapeError
from .progress import NO_PROGRESS, Progress
from .reports import REPORTS, REPORTS_BY_NAME
from .settings import Settings, resolve_http, resolve_settings, validate_timezone
from .shard import Account, AccountRun, CursorBook, ShardFetch, shard_resources
from .windows import today_in

__all__ = [
    "DEFAULT_BASE_URL",
    "REPORTS",
    "REPORTS_BY_NAME",
    "Account",
    "ConfigurationError",
    "CursorBook",
    "LiveChatAPIError",
    "LiveChatCredentials",
    "LiveChatError",
    "OAuthCredentials",
    "PersonalAccessTokenCredentials",
    "ResponseShapeError",
    "livechat_reports",
    "settings_of",
    "shard_of",
]


@dlt.source(name="livechat_reports", section="livechat", max_table_nesting=0)
def livechat_reports(
    credentials: LiveChatCredentials = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    api_version: str = "3.6",
    timezone: str = "UTC",
    start_date: Any = None,
    end_date: Any = None,
    backfill: bool = False,
    refresh: bool = False,
    lookback_days: int = 3,
    window_days: int = 31,
    max_concurrency: int = 4,
    distribution: str = "day",
    reports: str | Sequence[str] | None = None,
    filters: dict[str, Any] | None = None,
    breakdowns: str | Sequence[str] | None = None,
    breakdown_reports: str | Sequence[str] | None = None,
    breakdown_groups: str | Sequence[int] | None = None,
    request_timeout: float = 60.0,
    max_attempts: int = 6,
    backoff_seconds: float = 1.0,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
    configured_accounts: Sequence[str] | None = None,
    accounts: Sequence[Account] | None = None,
    cursors: CursorBook | None = None,
    account_concurrency: int | None = None,
    progress_of: Callable[[str], Progress] | None = None,
) -> Iterator[DltResource]:
    """Load LiveChat reports in day windows into normalized tables.

    Args:
        credentials: A personal access token (`account_id`, `personal_access_token`) or an
            OAuth token (`access_token`, `account_id`).
        base_url: Where the API lives; plain http is accepted only for loopback.
        api_version: The Reports API version in the URL.
        timezone: IANA zone the days are cut in (always sent to the API).
        start_date: First day of the first run; with `backfill`, of the backfill.
        end_date: Last day to load; default today in `timezone`.
        backfill: Load exactly `start_date`..`end_date` and leave the incremental state alone.
        refresh: Reload from `start_date` as a first run would, replacing all of the account's
            rows in the tables it loads (the way out of a change of timezone, distribution or
            filters).
        lookback_days: Days before the last loaded day that each run loads again.
        window_days: Days per request of series reports.
        max_concurrency: Requests in flight at most, across all reports.
        distribution: `day`, or `hour` for series reports (adds `report_hour`).
        reports: Report names to load (a list, or one string of comma-separated names, as an
            environment variable holds them); default all.
        filters: Report filters in the API's grammar (without from/to).
        breakdowns: `["group"]` (or `"group"`) also loads every report that takes a group
            filter once per group, into `<table>_by_group`; default none.
        breakdown_reports: The reports to break down (default: every selected one that can).
        breakdown_groups: The group ids to break down by (default: the groups chats/groups
            finds for the run's days).
        request_timeout: Seconds to wait for an answer.
        max_attempts: Attempts per request before the run fails.
        backoff_seconds: First retry delay; it doubles each attempt (Retry-After wins).
        today: Today in `timezone`; default the day `now` falls on there.
        now: A rehearsed current instant (with a UTC offset), for loads against an emulator
            on loopback with the same clock: the run takes it as the time it starts, stamps its
            requests from it, and takes today from it. Default: the real clock. Refused when
            `base_url` is not on loopback.
        progress: Receives the planned and answered requests and the rows yielded (for a
            progress bar or log lines); default: nobody.
        configured_accounts: The account ids configured when this load runs (the many-accounts
            command's every section), recorded in `account_loads` so the dataset knows which
            accounts are no longer loaded; default the accounts of this load.
        accounts: The accounts this load loads together (a shard), each with its credentials
            and its own settings overriding the arguments above; default the one account of
            `credentials` (which is not used when `accounts` is given).
        cursors: Each account's last loaded days, filled from the dataset before extraction
            (see `shard.CursorBook`); default none (every report starts at `start_date`).
        account_concurrency: Accounts fetched at once; default `max_concurrency`. Their
            requests share one pool of `max_concurrency`.
        progress_of: Gives each account's progress by its name; default `progress` for all.

    Yields:
        One resource per report any account loads, `account_loads` (each loaded account's
        row: its meaning, the configured accounts, its time) and `account_cursors` (each
        loaded account's cursors). An account whose requests fail yields nothing.

    Raises:
        ConfigurationError: When an argument is invalid (before any request).
    """
    validate_rehearsal(now, base_url)
    clock = rehearsed_clock(now) if now is not None else utc_now
    shared = {
        "start_date": start_date,
        "end_date": end_date,
        "backfill": backfill,
        "refresh": refresh,
        "lookback_days": lookback_days,
        "window_days": window_days,
        "distribution": distribution,
        "reports": reports,
        "filters": filters,
        "breakdowns": breakdowns,
        "breakdown_reports": breakdown_reports,
        "breakdown_groups": breakdown_groups,
    }
    http = resolve_http(
        max_concurrency=max_concurrency,
        request_timeout=request_timeout,
        max_attempts=max_attempts,
        backoff_seconds=backoff_seconds,
    )
    pool = RequestPool(http.max_concurrency)
    runs = []
    for account in accounts or [Account(credentials.account_id, credentials, named_in_logs=False)]:
        options = {"timezone": timezone, **shared, **account.overrides}
        settings = account_settings(account, options, today, clock)
        client = LiveChatClient(
            base_url=base_url,
            api_version=api_version,
            authorization=account.credentials.authorization(),
            max_concurrency=http.max_concurrency,
            timeout=http.request_timeout,
            max_attempts=http.max_attempts,
            backoff_seconds=http.backoff_seconds,
            clock=clock,
            pool=pool,
        )
        account_progress = progress_of(account.name) if progress_of else progress
        runs.append(
            AccountRun(
                account.name,
                settings,
                client,
                account_progress or NO_PROGRESS,
                named_in_logs=account.named_in_logs,
            )
        )
    fetch = ShardFetch(
        runs, cursors or CursorBook(), account_concurrency or http.max_concurrency, pool
    )
    specs = {spec.name: spec for run in runs for spec in run.settings.resources}
    configured = configured_accounts or [run.account_id for run in runs]
    yield from shard_resources(fetch, list(specs.values()), configured, clock)


def account_settings(
    account: Account,
    options: dict[str, Any],
    today: dt.date | None,
    clock: Callable[[], dt.datetime],
) -> Settings:
    """Validate one account's settings: the run's, overridden by the account's own.

    Raises:
        ConfigurationError: Naming the account when it is one of several.
    """
    try:
        timezone = validate_timezone(options.pop("timezone"))
        return resolve_settings(
            account_id=account.credentials.account_id,
            timezone=timezone,
            today=today or today_in(timezone, clock()),
            **options,
        )
    except ConfigurationError as error:
        if account.name == account.credentials.account_id:
            raise
        raise ConfigurationError(f"Account `{account.name}`: {error}") from None


def shard_of(source: DltSource) -> ShardFetch:
    """Return the accounts and fetches of a `livechat_reports` source."""
    for resource in source.resources.values():
        fetch = resource.explicit_args.get("fetch")
        if isinstance(fetch, ShardFetch):
            return fetch
    raise ValueError(f"`{source.name}` is not a livechat_reports source")


def settings_of(source: DltSource) -> Settings:
    """Return the validated settings of a `livechat_reports` source's first account."""
    return shard_of(source).accounts[0].settings
