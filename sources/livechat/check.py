"""A connection check: one cheap request that proves the credentials, their scope and the URL.

It reads its settings where the source does (`[sources.livechat]` in `.dlt/`, or
`SOURCES__LIVECHAT__...`), sends one `chats/total_chats` request for today (and, when breakdown
groups are listed, one `chats/groups` request to see that they have chats) and writes nothing:
no pipeline, no state, no destination.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import dlt
from dlt.common.configuration import with_config

from .client import DEFAULT_BASE_URL, HINTS, RETRY_STATUSES, LiveChatClient, validate_rehearsal
from .credentials import LiveChatCredentials
from .directory import GROUPS_REPORT
from .exceptions import ConfigurationError, LiveChatAPIError, LiveChatError, ResponseShapeError
from .fetch import fetch
from .options import SOURCE_SECTIONS, AccountOverrides, LoadOptions
from .plan import Request, plan_requests
from .reports import REPORTS_BY_NAME
from .settings import Settings, resolve_http, resolve_settings, validate_timezone
from .windows import Window, today_in

# The cheapest request there is: a series report, one day, one small answer.
CHECK_REPORT = REPORTS_BY_NAME["chats_total_chats"]

# Where the credentials are configured, as a hint names it; an account section says its own.
CREDENTIALS_AT = (
    "under [sources.livechat.credentials] in .dlt/secrets.toml or the"
    " SOURCES__LIVECHAT__CREDENTIALS__* variables"
)
CHECK_HINTS = {
    401: (
        "The API does not accept these credentials: check `account_id` and"
        " `personal_access_token` (or `access_token`) {where}."
    ),
    403: (
        "The credentials are valid but the token lacks the `reports_read` scope; create a"
        " personal access token with that scope (or grant it to your OAuth app) and put it"
        " {where}."
    ),
}


@dataclass(frozen=True)
class ConnectionCheck:
    """What a successful check established.

    Attributes:
        account_id: The account whose credentials were accepted.
        url: The endpoint that answered (base URL, API version and report path).
        api_version: The Reports API version in the URL.
        timezone: The zone `day` was cut in.
        day: The day requested (today in `timezone`).
        total_chats: The chats of that day, as the API counted them (it omits zeros).
        seconds: How long the request took.
        grouped_reports: The reports broken down by group (none when the breakdown is off).
        requests_per_group: What a daily run asks per group for them (a first run of
            `lookback_days` + 2 days: the lookback, the last loaded day and today).
        groups_days: The days chats/groups was asked about the listed breakdown groups (the
            last `window_days` days through today), or None when no group is listed.
        unseen_groups: The listed groups chats/groups gives no chat in those days.
    """

    account_id: str
    url: str
    api_version: str
    timezone: str
    day: dt.date
    total_chats: int
    seconds: float
    grouped_reports: tuple[str, ...] = ()
    requests_per_group: int = 0
    groups_days: Window | None = None
    unseen_groups: tuple[int, ...] = ()


class ConnectionCheckError(LiveChatError):
    """The check's request failed: refused, unanswered, or answered with something unexpected."""


@with_config(sections=SOURCE_SECTIONS)
def probe_api(
    credentials: LiveChatCredentials = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    api_version: str = "3.6",
    timezone: str = "UTC",
    request_timeout: float = 60.0,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    reports: str | Sequence[str] | None = None,
    filters: dict[str, Any] | None = None,
    breakdowns: str | Sequence[str] | None = None,
    breakdown_reports: str | Sequence[str] | None = None,
    breakdown_groups: str | Sequence[int] | None = None,
    lookback_days: int = 3,
    window_days: int = 31,
    credentials_at: str = CREDENTIALS_AT,
) -> ConnectionCheck:
    """Send one `chats/total_chats` request for today and report what it proved.

    With breakdown groups listed, one `chats/groups` request for the last `window_days` days
    also finds the listed groups that had no chats in them.

    Settings not passed are read the dlt way, like the source's (same names and sections).

    Args:
        credentials: A personal access token (`account_id`, `personal_access_token`) or an
            OAuth token (`access_token`, `account_id`).
        base_url: Where the API lives; plain http is accepted only for loopback.
        api_version: The Reports API version in the URL, like `3.6`.
        timezone: IANA zone today is taken in.
        request_timeout: Seconds to wait for the answer.
        today: The day to request; default today in `timezone`.
        now: A rehearsed current instant for an emulator on loopback (see the source's `now`);
            default the real clock.
        reports: The reports a load selects (checked, not requested).
        filters: The load's filters (checked, not requested).
        breakdowns: The load's breakdowns (checked; counted in `requests_per_group`).
        breakdown_reports: The reports the load breaks down (checked).
        breakdown_groups: The groups the load breaks down by (checked).
        lookback_days: Days a daily run loads again (for `requests_per_group`).
        window_days: Days per series request (for `requests_per_group`).
        credentials_at: Where the credentials are configured, for the hint of a refusal.

    Returns:
        What the check established.

    Raises:
        ConfigurationError: On an invalid setting, before any request.
        ConnectionCheckError: When the request is refused, unanswered or answered oddly; the
            message has the API's error type and message and what to do.
    """
    if not re.fullmatch(r"\d+\.\d+", str(api_version)):
        raise ConfigurationError(f"`api_version` must look like 3.6; got `{api_version}`")
    validate_rehearsal(now, base_url)
    if today is None:
        today = today_in(validate_timezone(timezone), now or dt.datetime.now(dt.timezone.utc))
    # The load's own settings, so a mistake in them is found here too (before any request).
    load = resolve_settings(
        account_id=credentials.account_id,
        timezone=timezone,
        start_date=today,
        end_date=today,
        backfill=True,
        lookback_days=lookback_days,
        window_days=window_days,
        distribution="day",
        reports=reports,
        filters=filters,
        today=today,
        breakdowns=breakdowns,
        breakdown_reports=breakdown_reports,
        breakdown_groups=breakdown_groups,
    )
    http = resolve_http(
        max_concurrency=1, request_timeout=request_timeout, max_attempts=1, backoff_seconds=0.0
    )
    client = LiveChatClient(
        base_url=base_url,
        api_version=api_version,
        authorization=credentials.authorization(),
        max_concurrency=1,
        timeout=http.request_timeout,
        max_attempts=1,
    )
    url = client.root + CHECK_REPORT.path
    try:
        return _ask(client, load, today, url, api_version)
    except LiveChatAPIError as e:
        raise ConnectionCheckError(_explain(url, e, credentials_at)) from e
    except ResponseShapeError as e:
        raise ConnectionCheckError(
            f"{url} answered, but not like the LiveChat Reports API v{api_version}: {e.detail}."
            " Check `base_url` and `api_version`."
        ) from e
    finally:
        client.close()


# The check's settings, of a load's (`LoadOptions`): it takes no dates, no distribution.
CHECK_SETTINGS = (
    "credentials",
    "base_url",
    "api_version",
    "timezone",
    "request_timeout",
    "today",
    "now",
    "reports",
    "filters",
    "breakdowns",
    "breakdown_reports",
    "breakdown_groups",
    "lookback_days",
    "window_days",
)


def check(
    options: LoadOptions,
    overrides: AccountOverrides | None = None,
    *,
    credentials_at: str = CREDENTIALS_AT,
) -> ConnectionCheck:
    """Check the account of `options` (or configured) as `probe_api` does.

    Args:
        options: The run's settings (the command line's, or `resolved` once for many
            accounts); the configuration is read for those not given.
        overrides: The account's own settings, over the configuration's (not over those
            the command line gives: leave those out, `AccountOverrides.without`).
        credentials_at: Where the credentials are configured, for the hint of a refusal.

    Raises:
        ConfigurationError: On an invalid setting, before any request.
        ConnectionCheckError: When the request is refused, unanswered or answered oddly.
    """
    given = options.given()
    arguments = {name: given[name] for name in CHECK_SETTINGS if name in given}
    if isinstance(arguments.get("filters"), Mapping):
        arguments["filters"] = dict(arguments["filters"])
    return probe_api(**{**arguments, **(overrides or {})}, credentials_at=credentials_at)


def _ask(
    client: LiveChatClient, load: Settings, today: dt.date, url: str, api_version: str
) -> ConnectionCheck:
    """Send the check's request (and chats/groups for listed groups); say what they proved.

    Args:
        client: The client, with one attempt per request.
        load: The load's settings (checked already), for what a daily run would ask.
        today: The day asked for.
        url: The endpoint, for the result.
        api_version: The API version in the URL, for the result.
    """
    settings = replace(load, reports=(CHECK_REPORT,), filters={})
    started = time.monotonic()
    tables, _ = fetch(CHECK_REPORT, settings, client, Request(Window(today, today)))
    rows = tables[CHECK_REPORT.name]
    groups_days: Window | None = None
    unseen: tuple[int, ...] = ()
    if load.grouped and load.breakdown_groups is not None:
        groups_days = Window(today - dt.timedelta(days=load.window_days - 1), today)
        unseen = _unseen_groups(client, settings, groups_days, load.breakdown_groups)
    daily = Window(today - dt.timedelta(days=load.lookback_days + 1), today)
    total = rows[0].get("total") if rows else None
    return ConnectionCheck(
        account_id=load.account_id,
        url=url,
        api_version=api_version,
        timezone=load.timezone,
        day=today,
        total_chats=total if isinstance(total, int) else 0,
        seconds=time.monotonic() - started,
        grouped_reports=tuple(s.name for s in load.grouped),
        requests_per_group=sum(
            len(plan_requests(s, daily, load.window_days, [0])) for s in load.grouped
        ),
        groups_days=groups_days,
        unseen_groups=unseen,
    )


def _unseen_groups(
    client: LiveChatClient, settings: Settings, days: Window, listed: Sequence[int]
) -> tuple[int, ...]:
    """Ask chats/groups for `days` (one request); return the listed groups it gives no chat.

    A listed id that is no group of the account (a typo, another license's group) is asked
    for every day of every load and stores nothing; the check says so before the first load.
    """
    tables, _ = fetch(GROUPS_REPORT, settings, client, Request(days))
    rows = tables[GROUPS_REPORT.name]
    seen = {str(row["group_id"]) for row in rows if row.get("chats")}
    return tuple(group for group in listed if str(group) not in seen)


def _explain(url: str, error: LiveChatAPIError, credentials_at: str = CREDENTIALS_AT) -> str:
    """One message: what answered (or did not), the API's error, what to do."""
    if error.status is None:
        return (
            f"no answer from {url}: {error.api_message}. Check `base_url` (or --base-url) and"
            " that this machine can reach it."
        )
    kind = f" {error.error_type}" if error.error_type else ""
    check_hint = CHECK_HINTS.get(error.status)
    hint = check_hint.format(where=credentials_at) if check_hint else HINTS.get(error.status, "")
    if error.status in RETRY_STATUSES:
        hint = "The API is busy or failing right now; try again in a few minutes."
    elif error.status == 200:
        hint = "Check that `base_url` is the LiveChat API and `api_version` is right."

    text = f"{url} answered HTTP {error.status}{kind}: {error.api_message}."
    return f"{text} {hint}" if hint else text
