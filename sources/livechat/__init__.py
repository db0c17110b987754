"""The LiveChat Reports source: one dlt resource per Reports API v3.6 report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import dlt
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource

from .client import DEFAULT_BASE_URL, LiveChatClient, check_rehearsal, rehearsed_clock, utc_now
from .credentials import LiveChatCredentials, OAuthCredentials, PersonalAccessTokenCredentials
from .directory import GroupDirectory
from .exceptions import ConfigurationError, LiveChatAPIError, LiveChatError, ResponseShapeError
from .extract import report_rows
from .meaning import ACCOUNTS_COLUMNS, ACCOUNTS_TABLE, account_load_row
from .progress import NO_PROGRESS, Progress
from .reports import REPORTS, REPORTS_BY_NAME, ReportSpec
from .settings import Settings, check_timezone, resolve_http, resolve_settings
from .windows import today_in

__all__ = [
    "DEFAULT_BASE_URL",
    "REPORTS",
    "REPORTS_BY_NAME",
    "ConfigurationError",
    "LiveChatAPIError",
    "LiveChatCredentials",
    "LiveChatError",
    "OAuthCredentials",
    "PersonalAccessTokenCredentials",
    "ResponseShapeError",
    "livechat_reports",
    "settings_of",
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
            accounts are no longer loaded; default this account alone.

    Yields:
        One resource per selected report, and `account_loads` (this load's row: its meaning,
        the configured accounts, its time).

    Raises:
        ConfigurationError: When an argument is invalid (before any request).
    """
    check_rehearsal(now, base_url)
    clock = rehearsed_clock(now) if now is not None else utc_now
    if today is None:
        today = today_in(check_timezone(timezone), clock())
    settings = resolve_settings(
        account_id=credentials.account_id,
        timezone=timezone,
        start_date=start_date,
        end_date=end_date,
        backfill=backfill,
        refresh=refresh,
        lookback_days=lookback_days,
        window_days=window_days,
        distribution=distribution,
        reports=reports,
        filters=filters,
        today=today,
        breakdowns=breakdowns,
        breakdown_reports=breakdown_reports,
        breakdown_groups=breakdown_groups,
    )
    http = resolve_http(
        max_concurrency=max_concurrency,
        request_timeout=request_timeout,
        max_attempts=max_attempts,
        backoff_seconds=backoff_seconds,
    )
    client = LiveChatClient(
        base_url=base_url,
        api_version=api_version,
        authorization=credentials.authorization(),
        max_concurrency=http.max_concurrency,
        timeout=http.request_timeout,
        max_attempts=http.max_attempts,
        backoff_seconds=http.backoff_seconds,
        clock=clock,
    )
    progress = progress or NO_PROGRESS
    directory = GroupDirectory(settings, client, progress) if settings.grouped else None
    for spec in settings.resources:
        yield _resource(spec, settings, client, progress, directory)
    yield dlt.resource(
        account_load,
        name=ACCOUNTS_TABLE,
        write_disposition="append",
        columns=ACCOUNTS_COLUMNS,
        max_table_nesting=0,
    )(settings, configured_accounts or (), clock, progress)


def settings_of(source: DltSource) -> Settings:
    """Return the validated settings a `livechat_reports` source was built with."""
    for resource in source.resources.values():
        settings = resource.explicit_args.get("settings")
        if isinstance(settings, Settings):
            return settings
    raise ValueError(f"`{source.name}` is not a livechat_reports source with reports")


def account_load(
    settings: Settings,
    configured_accounts: Sequence[str],
    clock: Callable[[], dt.datetime],
    progress: Progress = NO_PROGRESS,
) -> Iterator[dict[str, Any]]:
    """Yield this load's `account_loads` row; it is committed with the load's other rows."""
    progress.rows(ACCOUNTS_TABLE, 1)
    yield account_load_row(settings.meaning, configured_accounts, clock())


def _resource(
    spec: ReportSpec,
    settings: Settings,
    client: LiveChatClient,
    progress: Progress,
    directory: GroupDirectory | None,
) -> DltResource:
    return dlt.resource(report_rows, name=spec.name, max_table_nesting=0)(
        spec, settings, client, progress=progress, directory=directory
    )
