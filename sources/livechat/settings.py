"""Pure validation of the source's arguments into `Settings`, before any request is made."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .breakdown import require_breakdown, resolve_breakdowns, resolve_grouped, resolve_groups
from .exceptions import ConfigurationError
from .filters import validate_accepted, validate_filters
from .meaning import meaning_of
from .reports import REPORTS, REPORTS_BY_NAME, ReportSpec

DISTRIBUTIONS = ("day", "hour")
DEFAULT_HISTORY_DAYS = 30


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know, validated.

    Attributes:
        account_id: The LiveChat account the rows belong to.
        timezone: IANA zone the days are cut in.
        start_date: The first day of a first run (or of a backfill).
        end_date: The last day to load.
        backfill: Whether this run loads exactly start..end and leaves the state alone.
        refresh: Whether this run reloads start..end and replaces all of the account's rows.
        lookback_days: Days before the last loaded day that a run loads again.
        window_days: Days per request of series reports.
        distribution: `day` or `hour`.
        reports: The selected reports, in registry order.
        filters: Validated user filters.
        refresh: Whether this run replaces every row of the account (see above).
        breakdowns: `("group",)` when reports are also loaded per group.
        grouped: The per-group copies of the selected reports the run loads.
        breakdown_groups: The groups to break down by; None finds them with chats/groups.
    """

    account_id: str
    timezone: str
    start_date: dt.date
    end_date: dt.date
    backfill: bool
    lookback_days: int
    window_days: int
    distribution: str
    reports: tuple[ReportSpec, ...]
    filters: Mapping[str, Any]
    refresh: bool = False
    breakdowns: tuple[str, ...] = ()
    grouped: tuple[ReportSpec, ...] = ()
    breakdown_groups: tuple[int, ...] | None = None

    @property
    def resources(self) -> tuple[ReportSpec, ...]:
        """Every report the run loads: the selected ones, then their per-group copies."""
        return (*self.reports, *self.grouped)

    @property
    def discovers_groups(self) -> bool:
        """Whether the run asks chats/groups which groups to break reports down by."""
        return bool(self.grouped) and self.breakdown_groups is None

    @property
    def meaning(self) -> dict[str, str]:
        """The settings that give the rows their meaning, recorded with the dataset."""
        return meaning_of(self.account_id, self.timezone, self.distribution, self.filters)

    @property
    def hourly(self) -> bool:
        """Whether series reports are loaded by the hour."""
        return self.distribution == "hour"


def parse_date(value: Any, name: str) -> dt.date:
    """Accept a date or an ISO `YYYY-MM-DD` string.

    Raises:
        ConfigurationError: Naming the setting and the value.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as e:
        raise ConfigurationError(f"`{name}` must be a date like 2024-01-31; got `{value}`") from e


def validate_timezone(timezone: Any) -> str:
    """Return the IANA timezone name if it is one.

    Raises:
        ConfigurationError: Naming the value and giving examples.
    """
    try:
        if not isinstance(timezone, str) or not timezone:
            raise ZoneInfoNotFoundError(timezone)
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ConfigurationError(
            f"Unknown timezone `{timezone}`; use an IANA name like UTC or Europe/Warsaw"
        ) from e
    return timezone


def _positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"`{name}` must be a whole number of at least 1; got `{value}`")
    return int(value)


@dataclass(frozen=True)
class HttpSettings:
    """How requests are sent: concurrency, timeout, retries."""

    max_concurrency: int
    request_timeout: float
    max_attempts: int
    backoff_seconds: float


def resolve_http(
    *, max_concurrency: Any, request_timeout: Any, max_attempts: Any, backoff_seconds: Any
) -> HttpSettings:
    """Validate the HTTP settings.

    Raises:
        ConfigurationError: Naming the setting and the value.
    """
    for name, value in (("request_timeout", request_timeout), ("backoff_seconds", backoff_seconds)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigurationError(
                f"`{name}` must be a number of seconds, 0 or more; got `{value}`"
            )
    if request_timeout == 0:
        raise ConfigurationError("`request_timeout` must be more than 0 seconds")
    return HttpSettings(
        max_concurrency=_positive(max_concurrency, "max_concurrency"),
        request_timeout=float(request_timeout),
        max_attempts=_positive(max_attempts, "max_attempts"),
        backoff_seconds=float(backoff_seconds),
    )


def select_reports(names: Sequence[str] | str | None) -> tuple[ReportSpec, ...]:
    """Return the selected reports in registry order; None selects all.

    Raises:
        ConfigurationError: On an unknown name, listing the valid ones.
    """
    if names is None:
        return REPORTS
    if isinstance(names, str):
        names = _report_names(names)
    unknown = [n for n in names if n not in REPORTS_BY_NAME]
    if unknown:
        raise ConfigurationError(
            f"Unknown report `{unknown[0]}`. Valid reports: {', '.join(REPORTS_BY_NAME)}"
        )
    if not names:
        raise ConfigurationError("`reports` selects no report; leave it out to load all of them")
    return tuple(r for r in REPORTS if r.name in set(names))


def _report_names(text: str) -> list[str]:
    """Split `a,b` (or a JSON list, as an environment variable may hold it) into names."""
    if not text.strip().startswith("["):
        return [n.strip() for n in text.split(",") if n.strip()]
    try:
        names = json.loads(text)
    except ValueError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigurationError(
            f"`reports` must be report names separated by commas, or a JSON list of names;"
            f" got `{text}`"
        )
    return [n.strip() for n in names]


def resolve_settings(
    *,
    account_id: str,
    timezone: str,
    start_date: Any,
    end_date: Any,
    backfill: bool,
    refresh: bool = False,
    lookback_days: Any,
    window_days: Any,
    distribution: str,
    reports: Sequence[str] | str | None,
    filters: Mapping[str, Any] | None,
    today: dt.date,
    breakdowns: Any = None,
    breakdown_reports: Any = None,
    breakdown_groups: Any = None,
) -> Settings:
    """Validate the source's arguments.

    Args:
        account_id: The account the credentials belong to.
        timezone: IANA zone name.
        start_date: First day (date or ISO string); None means 30 days before today.
        end_date: Last day; None means today.
        backfill: Load exactly start..end and leave the incremental state alone.
        refresh: Load start..end as a first run would, replacing every row of the account in
            the tables it loads (a backfill range given with it only sets start and end).
        lookback_days: Days to load again before the last loaded day.
        window_days: Days per request of series reports.
        distribution: `day` or `hour`.
        reports: Report names (list or comma-separated), None for all.
        filters: User filters, without from/to.
        today: Today in `timezone`.
        breakdowns: `["group"]` to load the reports that take a group filter per group too.
        breakdown_reports: Which reports to break down (default: every selected one that can).
        breakdown_groups: Group ids to break down by (default: those chats/groups finds).

    Raises:
        ConfigurationError: On the first invalid value, with what to do about it.
    """
    if not account_id:
        raise ConfigurationError(
            "The credentials name no account: set `account_id` under"
            " [sources.livechat.credentials] in .dlt/secrets.toml"
        )
    validate_timezone(timezone)
    if distribution not in DISTRIBUTIONS:
        raise ConfigurationError(
            f"Unknown distribution `{distribution}`; valid: {', '.join(DISTRIBUTIONS)}"
        )
    end = parse_date(end_date, "end_date") if end_date is not None else today
    start = (
        parse_date(start_date, "start_date")
        if start_date is not None
        else today - dt.timedelta(days=DEFAULT_HISTORY_DAYS)
    )
    if end > today:
        raise ConfigurationError(
            f"`end_date` {end} is after today ({today} in {timezone}); the API has no data"
            " for the future"
        )
    _check_order(start, end, start_date is not None, end_date is not None, today, timezone)
    selected = select_reports(reports)
    user_filters = validate_filters(filters)
    validate_accepted(user_filters, {r.name: r.filters for r in selected})
    wanted = resolve_breakdowns(breakdowns)
    require_breakdown(
        wanted, breakdown_reports=breakdown_reports, breakdown_groups=breakdown_groups
    )
    groups = resolve_groups(breakdown_groups) if wanted else None
    grouped = resolve_grouped(wanted, breakdown_reports, groups, selected, user_filters)
    return Settings(
        account_id=account_id,
        timezone=timezone,
        start_date=start,
        end_date=end,
        backfill=backfill and not refresh,
        refresh=refresh,
        lookback_days=_positive(lookback_days, "lookback_days"),
        window_days=_positive(window_days, "window_days"),
        distribution=distribution,
        reports=selected,
        filters=user_filters,
        breakdowns=wanted,
        grouped=grouped,
        breakdown_groups=groups,
    )


def _check_order(
    start: dt.date, end: dt.date, start_given: bool, end_given: bool, today: dt.date, timezone: str
) -> None:
    """Refuse a start after the end, blaming only the dates somebody gave."""
    if start <= end:
        return
    if start_given and end_given:
        raise ConfigurationError(f"`start_date` {start} is after `end_date` {end}; swap them")
    if start_given:
        raise ConfigurationError(
            f"`start_date` {start} is in the future (today is {today} in {timezone})"
        )
    raise ConfigurationError(
        f"`end_date` {end} is before the default start ({start}, {DEFAULT_HISTORY_DAYS} days"
        f" before today); give a `start_date` on or before {end} too"
    )
