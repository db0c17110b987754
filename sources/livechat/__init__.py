"""The LiveChat Reports source: one dlt resource per Reports API v3.6 report."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dlt
from dlt.common.configuration.resolve import inject_section, resolve_configuration
from dlt.common.configuration.specs.config_section_context import ConfigSectionContext
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
from .options import SOURCE_SECTIONS, AccountOverrides, LoadOptions
from .progress import NO_PROGRESS, Progress
from .reports import REPORTS, REPORTS_BY_NAME
from .settings import Settings, resolve_http, resolve_settings, validate_timezone
from .shard import (
    Account,
    AccountRun,
    CursorBook,
    ShardFetch,
    SharedFetching,
    shard_resources,
)
from .windows import today_in

__all__ = [
    "DEFAULT_BASE_URL",
    "REPORTS",
    "REPORTS_BY_NAME",
    "Account",
    "AccountOverrides",
    "ConfigurationError",
    "CursorBook",
    "LiveChatAPIError",
    "LiveChatCredentials",
    "LiveChatError",
    "LoadOptions",
    "OAuthCredentials",
    "PersonalAccessTokenCredentials",
    "ResponseShapeError",
    "ShardLoad",
    "SharedFetching",
    "build_load",
    "livechat_reports",
    "resolve_options",
    "shared_fetching",
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
    options = LoadOptions(
        credentials=credentials,
        base_url=base_url,
        api_version=api_version,
        timezone=timezone,
        start_date=start_date,
        end_date=end_date,
        backfill=backfill,
        refresh=refresh,
        lookback_days=lookback_days,
        window_days=window_days,
        max_concurrency=max_concurrency,
        distribution=distribution,
        reports=reports,
        filters=filters,
        breakdowns=breakdowns,
        breakdown_reports=breakdown_reports,
        breakdown_groups=breakdown_groups,
        request_timeout=request_timeout,
        max_attempts=max_attempts,
        backoff_seconds=backoff_seconds,
        today=today,
        now=now,
        configured_accounts=configured_accounts,
        account_concurrency=account_concurrency,
        resolved=True,
    )
    clock = clock_of(options)
    book = cursors or CursorBook()
    fetch = plan_shard(options, clock, accounts, book, progress=progress, progress_of=progress_of)
    yield from _resources(fetch, options, clock)


@dlt.source(name="livechat_reports", section="livechat", max_table_nesting=0)
def _planned_source(
    fetch: ShardFetch, options: LoadOptions, clock: Callable[[], dt.datetime]
) -> Iterator[DltResource]:
    """The `livechat_reports` source of a shard planned already (`build_load`); reads no config."""
    yield from _resources(fetch, options, clock)


def _resources(
    fetch: ShardFetch, options: LoadOptions, clock: Callable[[], dt.datetime]
) -> Iterator[DltResource]:
    specs = {spec.name: spec for run in fetch.accounts for spec in run.settings.resources}
    configured = options.configured_accounts or [run.account_id for run in fetch.accounts]
    yield from shard_resources(fetch, list(specs.values()), configured, clock)


@dataclass(frozen=True)
class ShardLoad:
    """A `livechat_reports` source, built once, with the accounts it fetches and their cursors.

    Attributes:
        source: The dlt source to extract.
        fetch: Its accounts (their validated settings) and, after the run, their outcomes.
        cursors: Filled with the accounts' cursors from the dataset before extraction.
    """

    source: DltSource
    fetch: ShardFetch
    cursors: CursorBook

    @property
    def accounts(self) -> list[AccountRun]:
        """The accounts it loads, each with its validated settings."""
        return self.fetch.accounts


def resolve_options(
    options: LoadOptions, *, credentials_required: bool = True, pipeline_name: str | None = None
) -> LoadOptions:
    """Read the settings not given from the configuration, once, as the source would.

    With the source's own specification (its arguments' names, types and defaults) and dlt's
    resolver, in the source's sections (`[sources.livechat]`, `SOURCES__LIVECHAT__...`); the
    given settings win. The result is complete (`resolved`), so the sources and checks built
    from it read nothing again.

    Args:
        options: The run's settings as given.
        credentials_required: False when each account brings its own credentials.
        pipeline_name: The pipeline the source loads in, whose own sections are read first
            (as dlt reads a source's arguments when the pipeline is active); None for a
            command of several pipelines (shards).

    Raises:
        ConfigFieldMissingException: When the credentials are required and not configured.
        ConfigurationException: When a configured value cannot be read as its type.
    """
    if options.resolved:
        return options
    spec = livechat_reports.ref.SPEC
    context = ConfigSectionContext(pipeline_name=pipeline_name, sections=SOURCE_SECTIONS)
    with inject_section(context):
        config = resolve_configuration(
            spec(), explicit_value=options.given(), accept_partial=not credentials_required
        )
    known = {field.name for field in dataclasses.fields(LoadOptions)}
    values = {k: v for k, v in dict(config).items() if k in known and v is not None}
    return LoadOptions(**values, resolved=True, run_settings=frozenset(options.given()))


def clock_of(options: LoadOptions) -> Callable[[], dt.datetime]:
    """The run's clock: the rehearsed `now` running on from now, or the real one.

    Raises:
        ConfigurationError: When `now` is given and `base_url` is not on loopback.
    """
    validate_rehearsal(options.now, options.base_url or DEFAULT_BASE_URL)
    return rehearsed_clock(options.now) if options.now is not None else utc_now


def build_load(
    options: LoadOptions,
    accounts: Sequence[Account] | None = None,
    *,
    progress: Progress | None = None,
    progress_of: Callable[[str], Progress] | None = None,
    pipeline_name: str | None = None,
    shared: SharedFetching | None = None,
) -> ShardLoad:
    """Build the source of one load (an account, or a shard's accounts), validating them all.

    Every account's settings are validated here, before any request. The configuration is
    read unless `options` are `resolved` already (a command of many shards reads it once).
    `shared`: the fetch slots and request pool of the shards loaded in one process
    (`shared_fetching`); default a pool of the load's own.

    Raises:
        ConfigurationError: On the first invalid setting, naming the account of several.
    """
    resolved = resolve_options(
        options, credentials_required=not accounts, pipeline_name=pipeline_name
    )
    clock = clock_of(resolved)
    book = CursorBook()
    fetch = plan_shard(
        resolved, clock, accounts, book, progress=progress, progress_of=progress_of, shared=shared
    )
    return ShardLoad(_planned_source(fetch, resolved, clock), fetch, book)


def plan_shard(
    options: LoadOptions,
    clock: Callable[[], dt.datetime],
    accounts: Sequence[Account] | None,
    cursors: CursorBook,
    *,
    progress: Progress | None = None,
    progress_of: Callable[[str], Progress] | None = None,
    shared: SharedFetching | None = None,
) -> ShardFetch:
    """Validate every account's settings and give each its client on the shard's shared pool.

    Args:
        options: The run's settings, `resolved`; each account's own override them.
        clock: The run's clock (`clock_of`).
        accounts: The accounts loaded together; default the one of `options.credentials`.
        cursors: Their cursors, filled before extraction.
        progress: Told every account's requests and rows; default nobody.
        progress_of: Gives each account's progress by its name; default `progress`.
        shared: What the shards of a process share (`shared_fetching`): their requests go to
            its pool; default a pool of this shard's own, of `max_concurrency`.

    Raises:
        ConfigurationError: On the first invalid setting (before any request).
    """
    http = resolve_http(
        max_concurrency=options.max_concurrency,
        request_timeout=options.request_timeout,
        max_attempts=options.max_attempts,
        backoff_seconds=options.backoff_seconds,
    )
    pool = shared.pool if shared is not None else RequestPool(http.max_concurrency)
    if not accounts:
        credentials = options.credentials
        if credentials is None:
            raise ConfigurationError("The load names no account: give credentials or accounts")
        accounts = [Account(credentials.account_id, credentials, named_in_logs=False)]
    runs = []
    for account in accounts:
        settings = account_settings(account, options, clock)
        client = LiveChatClient(
            base_url=options.base_url or DEFAULT_BASE_URL,
            api_version=options.api_version or "3.6",
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
    concurrency = options.account_concurrency or http.max_concurrency
    return ShardFetch(runs, cursors, concurrency, pool, shared=shared)


def shared_fetching(options: LoadOptions, shards_at_once: int) -> SharedFetching:
    """What shards loaded in one process share: `shards_at_once` fetch slots, and requests.

    The pool has `max_concurrency` requests per shard fetching at once; any shard fetching may
    use all of it.

    Raises:
        ConfigurationError: When an HTTP setting of `options` (`resolved`) is invalid.
    """
    http = resolve_http(
        max_concurrency=options.max_concurrency,
        request_timeout=options.request_timeout,
        max_attempts=options.max_attempts,
        backoff_seconds=options.backoff_seconds,
    )
    return SharedFetching.of(shards_at_once, http.max_concurrency)


# The run's settings that every account's validation takes (the others are HTTP's or the run's).
SHARED_SETTINGS = (
    "start_date",
    "end_date",
    "backfill",
    "refresh",
    "lookback_days",
    "window_days",
    "distribution",
    "reports",
    "filters",
    "breakdowns",
    "breakdown_reports",
    "breakdown_groups",
)


def account_settings(
    account: Account, options: LoadOptions, clock: Callable[[], dt.datetime]
) -> Settings:
    """Validate one account's settings: the run's, overridden by the account's own.

    Raises:
        ConfigurationError: Naming the account when it is one of several.
    """
    shared = {name: getattr(options, name) for name in SHARED_SETTINGS}
    values = {"timezone": options.timezone or "UTC", **shared, **account.overrides}
    try:
        timezone = validate_timezone(values.pop("timezone"))
        return resolve_settings(
            account_id=account.credentials.account_id,
            timezone=timezone,
            today=options.today or today_in(timezone, clock()),
            **values,
        )
    except ConfigurationError as error:
        if account.name == account.credentials.account_id:
            raise
        raise ConfigurationError(f"Account `{account.name}`: {error}") from None
