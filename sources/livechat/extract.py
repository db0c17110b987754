"""The resource body: plan one report's requests, fetch them concurrently, yield normalized rows.

Re-fetched days replace what was loaded for them. Each table's merge is scoped to the account
and the days of the run (`destination_scope`), so rows whose dimension vanished and days that
became empty are deleted too; when a table gets no row at all, one placeholder row (empty key)
carries the merge and is filtered out by `source_filter` before it reaches the table. Per-group
tables merge the same way, so a group that had no chats in the re-fetched days loses its rows
for them; when the groups are listed, the merge is scoped to the groups loaded too, each over
its own days (see `cursors`). A group's day without data (an empty bucket) stores no row at all,
so a listed id the account's chats never name stores nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import dlt
from dlt.common.schema.typing import TWriteDispositionConfig

from .breakdown import allows, request_filters
from .client import LiveChatClient
from .cursors import group_windows, record_loaded, resumes_from, run_window
from .flatten import Context, Row, Tables, total_pages
from .meaning import STATE_KEY as MEANING_KEY
from .meaning import canonical_filters
from .progress import NO_PROGRESS, Progress
from .reports import (
    GROUP_KEY,
    REPORTS_BY_NAME,
    Kind,
    ReportSpec,
    TableSpec,
    primary_key,
    table_columns,
)
from .settings import Settings
from .windows import Period, Window, periods_touching, split

logger = logging.getLogger("livechat_reports")
LINEAGE_TABLE = "report_requests"


GROUPS_REPORT = REPORTS_BY_NAME["chats_groups"]


@dataclass(frozen=True)
class Request:
    """One planned request: the days it covers, the period or the group it is for."""

    window: Window
    period: Period | None = None
    group: int | None = None


def plan_requests(
    spec: ReportSpec, window: Window, window_days: int, groups: Sequence[int] = ()
) -> list[Request]:
    """Return the requests that load `window` for a report: the fewest its kind allows.

    A per-group report (`spec.group`) makes the same requests once for each of `groups`.
    """
    if spec.kind is Kind.SERIES:
        plan = [Request(w) for w in split(window, window_days)]
    elif spec.kind is Kind.PERIOD:
        plan = [Request(p.window, p) for p in periods_touching(window)]
    else:
        plan = [Request(Window(day, day)) for day in window.days]
    if spec.group is None:
        return plan
    return [replace(r, group=g) for r in plan for g in groups]


def request_body(
    spec: ReportSpec, settings: Settings, window: Window, group: int | None = None
) -> dict[str, Any]:
    """Build the JSON body of one request (for one group of a per-group report)."""
    start, end = window.bounds(settings.timezone)
    filters = request_filters(spec, settings.filters, group)
    if spec.time_filter == "greetings":
        filters["greetings"] = {**filters.get("greetings", {}), "from": start, "to": end}
    else:
        filters.update({"from": start, "to": end})
    body: dict[str, Any] = {"timezone": settings.timezone, "filters": filters}
    if spec.kind is Kind.SERIES:
        body["distribution"] = settings.distribution if spec.hourly else "day"
    return body


def _sql_text(value: str) -> str:
    # single quotes doubled for SQL; braces doubled because dlt formats the condition
    return value.replace("'", "''").replace("{", "{{").replace("}", "}}")


Replaced = Sequence[tuple[Window, Sequence[int]]]
"""The days a run replaces: (days, groups) pairs, no groups meaning all of the account's."""


def write_disposition(
    spec: ReportSpec, table: TableSpec, settings: Settings, replaced: Replaced
) -> TWriteDispositionConfig:
    """Merge settings of a table for a run that loads the days in `replaced`.

    Per-period tables merge by key. Day tables replace the account's rows of the run's days,
    and of a per-group table whose groups are listed only the rows of the groups loaded for
    those days: a group left out of the list keeps its rows. A refresh replaces every row of
    the account, whatever its day, group or period.
    """
    account = f"{{table}}.account_id = '{_sql_text(settings.account_id)}'"
    if spec.kind is Kind.PERIOD and not settings.refresh:
        return {"disposition": "merge", "strategy": "delete-insert"}
    scope = account
    if not settings.refresh:
        scope += " AND " + " OR ".join(_days_scope(window, groups) for window, groups in replaced)
        if len(replaced) > 1:
            scope = f"{account} AND ({scope.removeprefix(account + ' AND ')})"
    config: dict[str, Any] = {
        "disposition": "merge",
        "strategy": "delete-insert",
        "destination_scope": scope,
    }
    if table.merge_key:
        config["source_filter"] = f"{table.merge_key} <> ''"
    return config  # type: ignore[return-value]


def _days_scope(window: Window, groups: Sequence[int]) -> str:
    days = (
        f"{{table}}.report_date >= DATE '{window.first}'"
        f" AND {{table}}.report_date <= DATE '{window.last}'"
    )
    if not groups:
        return days
    listed = ", ".join(f"'{g}'" for g in groups)  # group ids are whole numbers
    return f"({{table}}.{GROUP_KEY} IN ({listed}) AND {days})"


def placeholder_row(table: TableSpec, settings: Settings, window: Window) -> Row:
    """A row with an empty key: it carries the merge of a table that got no rows."""
    row: Row = {"account_id": settings.account_id, "report_date": window.first}
    if table.grouped:
        row[GROUP_KEY] = ""
    row.update({d: "" for d in table.dimensions})
    return row


def table_hints(spec: ReportSpec, table: TableSpec, settings: Settings, replaced: Replaced) -> Any:
    """The dlt hints of a table for a run that loads the days in `replaced`."""
    return dlt.mark.make_hints(
        table_name=table.name,
        write_disposition=write_disposition(spec, table, settings, replaced),
        primary_key=primary_key(table, spec, settings.hourly),
        columns=table_columns(table, spec, settings.hourly),
    )


LINEAGE_COLUMNS: dict[str, Any] = {
    name: {"data_type": data_type, "nullable": True}
    for name, data_type in (
        ("account_id", "text"),
        ("report", "text"),
        ("table_name", "text"),
        ("window_from", "date"),
        ("window_to", "date"),
        ("period", "text"),
        ("timezone", "text"),
        ("distribution", "text"),
        ("filters", "text"),
        ("group_id", "text"),
        ("page", "bigint"),
        ("http_status", "bigint"),
        ("attempts", "bigint"),
        ("duration_seconds", "double"),
        ("response_total", "double"),
        ("requested_at", "timestamp"),
    )
}


def _fetch(
    spec: ReportSpec,
    settings: Settings,
    client: LiveChatClient,
    progress: Progress,
    request: Request,
) -> tuple[Tables, list[Row]]:
    """Fetch and flatten one planned request (every page of it); runs on the client's pool."""
    group = request.group
    ctx = Context(
        report=spec.path if group is None else f"{spec.path} (group {group})",
        table=spec.table.base or spec.name,
        account_id=settings.account_id,
        window=request.window,
        timezone=settings.timezone,
        distribution=settings.distribution if spec.hourly else "day",
        period=request.period.kind if request.period else None,
    )
    body = request_body(spec, settings, request.window, group)
    filters = {k: v for k, v in body["filters"].items() if k not in ("from", "to")}
    if "greetings" in filters:
        filters["greetings"] = {
            k: v for k, v in filters["greetings"].items() if k not in ("from", "to")
        }
        filters = {k: v for k, v in filters.items() if v}
    by_base = {t.base or t.name: t for t in spec.tables}
    tables: Tables = {t.name: [] for t in spec.tables}
    lineage: list[Row] = []
    page, pages, announced = 1, 1, 1
    while page <= pages:
        if spec.kind is Kind.PAGED:
            body["page"] = page
        fetched = client.post(spec.path, body, str(request.window))
        progress.request_done(spec.name, fetched.attempts)
        answer = fetched.body
        if answer.get("name") != spec.response_name:
            raise ctx.fail(f"`name` is `{answer.get('name')}`, expected `{spec.response_name}`")
        for name, rows in spec.flatten(answer, ctx).items():
            table = by_base[name]
            if group is not None:
                rows = [_in_group(row, table, group, ctx) for row in rows]
            tables[table.name].extend(rows)
        if spec.kind is Kind.PAGED:
            pages = total_pages(answer, ctx)
            if pages > announced:  # the plan counted one page per day
                progress.planned(spec.name, pages - announced)
                announced = pages
        total = answer.get("total")
        lineage.append(
            {
                "account_id": settings.account_id,
                "report": spec.path,
                "table_name": spec.name,
                "window_from": request.window.first,
                "window_to": request.window.last,
                "period": ctx.period,
                "timezone": settings.timezone,
                "distribution": body.get("distribution"),
                "filters": canonical_filters(filters),
                "group_id": None if group is None else str(group),
                "page": page if spec.kind is Kind.PAGED else None,
                "http_status": fetched.status,
                "attempts": fetched.attempts,
                "duration_seconds": round(fetched.seconds, 4),
                "response_total": total
                if isinstance(total, (int, float)) and not isinstance(total, bool)
                else None,
                "requested_at": fetched.requested_at,
            }
        )
        page += 1
    return tables, lineage


def has_data(row: Row, table: TableSpec) -> bool:
    """Whether a row of a group's answer holds anything but an empty bucket.

    Series answers have a bucket for every requested day, empty (`{}`, or zeros such as
    `{"hours": 0}`) when nothing happened. Rows with a dimension (a tag, an agent, a form)
    exist only where the API names one, so they always hold something.
    """
    if table.dimensions:
        return True
    keys = ("account_id", GROUP_KEY, "report_date", "report_hour")
    return any(
        isinstance(value, (int, float)) and not isinstance(value, bool) and value != 0
        for name, value in row.items()
        if name not in keys
    )


def _in_group(row: Row, table: TableSpec, group: int, ctx: Context) -> Row:
    """A row of a per-group answer: its group in `group_id`, clashing columns renamed."""
    out = {table.group_renames.get(k, k): v for k, v in row.items()}
    if GROUP_KEY in out:
        raise ctx.fail(f"the answer has a `{GROUP_KEY}` field, which would overwrite the group")
    out[GROUP_KEY] = str(group)
    return out


class GroupDirectory:
    """The groups with chats on each day of the run, asked from chats/groups once per run.

    The chats_groups report and every per-group report share it: the first that needs it asks
    chats/groups for the union of their days (the same requests chats_groups would make for
    itself in a backfill), and chats_groups takes its rows from those answers instead of asking
    again. Each request is counted and recorded in the lineage once, by the report that made
    it. It runs in the thread that runs the resources, so the client's pool never waits on
    itself.

    It serves the breakdown whether its groups are found or listed: a group's rows of a day
    on which chats/groups counts no chat of it are stored only when they hold data (see
    `keeps`), so a listed id that is no group of the account stores nothing.
    """

    def __init__(self, settings: Settings, client: LiveChatClient, progress: Progress) -> None:
        self._settings = settings
        self._client = client
        self._progress = progress
        self._lock = threading.Lock()
        self._rows: list[Row] | None = None
        self._groups: dict[dt.date, set[int]] = {}

    def _users(self) -> list[str]:
        selected = GROUPS_REPORT in self._settings.reports
        return [
            *([GROUPS_REPORT.name] if selected else []),
            *(s.name for s in self._settings.grouped),
        ]

    def _days(self, name: str, resources: Mapping[str, Any]) -> list[Window]:
        """The days a user of the directory loads (each listed group's own, when listed)."""
        state = resources.get(name, {})
        listed = self._settings.breakdown_groups
        if name != GROUPS_REPORT.name and listed is not None:
            return [window for window, _ in group_windows(self._settings, state, listed)]
        window = run_window(self._settings, resumes_from(state))
        return [window] if window else []

    def _ask(self, resources: Mapping[str, Any]) -> list[Row]:
        """Ask chats/groups for every day a user of the directory loads; return the lineage."""
        with self._lock:
            if self._rows is not None:
                return []
            windows = [w for name in self._users() for w in self._days(name, resources)]
            if not windows:
                self._rows = []
                return []
            days = Window(min(w.first for w in windows), max(w.last for w in windows))
            requests = plan_requests(GROUPS_REPORT, days, self._settings.window_days)
            self._progress.planned(GROUPS_REPORT.name, len(requests))
            settings, client, progress = self._settings, self._client, self._progress
            jobs = [
                functools.partial(_fetch, GROUPS_REPORT, settings, client, progress, r)
                for r in requests
            ]
            rows: list[Row] = []
            lineage: list[Row] = []
            for tables, records in client.map_ordered(jobs):
                rows.extend(tables[GROUPS_REPORT.name])
                lineage.extend(records)
            self._rows = rows  # only once every answer is in
            for row in rows:
                if row.get("chats"):
                    self._groups.setdefault(row["report_date"], set()).add(int(row["group_id"]))
            logger.info(
                "chats/groups: %d requests for %s (groups of the run's days)", len(requests), days
            )
            return lineage

    def prepare(self, resources: Mapping[str, Any]) -> list[Row]:
        """Ask chats/groups if no report has yet; return the lineage to record (once)."""
        return self._ask(resources)

    def keeps(self, row: Row, table: TableSpec) -> bool:
        """Whether a row of a per-group table is stored (call after `prepare` or `groups`).

        A group's rows of a day it had chats on are all stored, empty buckets included: they
        say the day was loaded and its missed chats, ratings, ... were none. On a day without
        its chats only rows that hold data are (available hours, an agent's logged-in time):
        stored empty, a group without chats, or an id that is no group of the account, would
        read as a team with 0 chats that day.
        """
        group = int(row[GROUP_KEY])
        return group in self._groups.get(row["report_date"], ()) or has_data(row, table)

    def groups(self, window: Window, resources: Mapping[str, Any]) -> tuple[list[int], list[Row]]:
        """Return the groups with chats on any day of `window`, and the lineage to record."""
        lineage = self._ask(resources)
        found: set[int] = set()
        for day in window.days:
            found |= self._groups.get(day, set())
        return sorted(found), lineage

    def rows(self, window: Window, resources: Mapping[str, Any]) -> tuple[list[Row], list[Row]]:
        """Return chats_groups' rows for `window`, and the lineage to record."""
        lineage = self._ask(resources)
        rows = [r for r in self._rows or [] if window.first <= r["report_date"] <= window.last]
        return rows, lineage


def report_rows(
    spec: ReportSpec,
    settings: Settings,
    client: LiveChatClient,
    state: Callable[[], dict[str, Any]] = dlt.current.resource_state,
    source_state: Callable[[], dict[str, Any]] = dlt.current.source_state,
    progress: Progress = NO_PROGRESS,
    directory: GroupDirectory | None = None,
) -> Iterator[Any]:
    """Yield a report's rows for the run: the resource function of every report.

    Args:
        spec: The report (or its per-group copy).
        settings: The run's validated settings.
        client: The shared HTTP client.
        state: Returns this resource's dlt state.
        source_state: Returns the source's dlt state, where the dataset's meaning is recorded.
        progress: Told the plan, each answered request and the real rows yielded.
        directory: Where chats_groups and per-group reports get the run's groups, when the run
            finds them with chats/groups.
    """
    resource_state = state()
    source = source_state()
    # Committed with this run's rows, and only with them, like every dlt state change.
    source[MEANING_KEY] = settings.meaning
    # a per-group report whose groups are listed keeps a last loaded day per group
    listed = spec.group is not None and settings.breakdown_groups is not None
    spans: list[tuple[Window, tuple[int, ...]]] = []
    if listed:
        groups = [g for g in settings.breakdown_groups or () if allows(spec, settings.filters, g)]
        spans = group_windows(settings, resource_state, groups)
        window = (
            Window(min(w.first for w, _ in spans), max(w.last for w, _ in spans)) if spans else None
        )
    else:
        window = run_window(settings, resumes_from(resource_state))
    if window is None:
        logger.info(
            "%s: nothing to load (last loaded day %s)", spec.name, resumes_from(resource_state)
        )
        return
    resources = source.get("resources", {})
    answers: Iterable[tuple[Tables, list[Row]]]
    asked: list[Row] = []
    if directory is not None and spec.name == GROUPS_REPORT.name:
        rows, asked = directory.rows(window, resources)
        requests: list[Request] = []
        answers = [({spec.name: rows}, [])]
    else:
        if listed and len(spans) > 1:
            for days, members in spans:  # say why some groups load more days than others
                logger.info("%s: groups %s load %s", spec.name, list(members), days)
        if listed:
            requests = [
                r for w, gs in spans for r in plan_requests(spec, w, settings.window_days, gs)
            ]
            if directory is not None:  # the days each group had chats on
                asked = directory.prepare(resources)
        else:
            found: Sequence[int] = ()
            if spec.group is not None and directory is not None:
                found, asked = directory.groups(window, resources)
                found = [g for g in found if allows(spec, settings.filters, g)]
            requests = plan_requests(spec, window, settings.window_days, found)
        progress.planned(spec.name, len(requests))
        jobs = [functools.partial(_fetch, spec, settings, client, progress, r) for r in requests]
        answers = client.map_ordered(jobs)
    replaced: Replaced = spans or [(window, ())]
    started = time.monotonic()
    hinted: set[str] = set()
    counts = {t.name: 0 for t in spec.tables}
    by_name = {t.name: t for t in spec.tables}
    if asked:
        progress.rows(LINEAGE_TABLE, len(asked))
        yield _mark_lineage(asked, hinted)
    for tables, lineage in answers:
        for name, rows in tables.items():
            if spec.group is not None and directory is not None:
                rows = [r for r in rows if directory.keeps(r, by_name[name])]
            if not rows:
                continue
            counts[name] += len(rows)
            progress.rows(name, len(rows))
            yield _mark(rows, spec, by_name[name], settings, replaced, hinted)
        if lineage:
            progress.rows(LINEAGE_TABLE, len(lineage))
            yield _mark_lineage(lineage, hinted)
    for name, count in counts.items():
        table = by_name[name]
        # Only dimension and per-group tables can end a run without rows (the account's
        # series and per-day tables always have a row per day; a group's days without data
        # have none); their placeholder carries the merge and is filtered out.
        if count == 0 and table.merge_key and spec.kind is not Kind.PERIOD:
            progress.rows(name, 0)
            yield _mark(
                [placeholder_row(table, settings, window)],
                spec,
                table,
                settings,
                replaced,
                hinted,
            )
    logger.info(
        "%s: %d requests for %s, %s rows, %.1fs",
        spec.name, len(requests) + len(asked), window, sum(counts.values()),
        time.monotonic() - started,
    )  # fmt: skip
    record_loaded(resource_state, settings, replaced, listed)


def _mark(
    rows: list[Row],
    spec: ReportSpec,
    table: TableSpec,
    settings: Settings,
    replaced: Replaced,
    hinted: set[str],
) -> Any:
    """Route rows to their table; the first batch of each table carries the run's hints."""
    if table.name in hinted:
        return dlt.mark.with_table_name(rows, table.name)
    hinted.add(table.name)
    hints = table_hints(spec, table, settings, replaced)
    # Every table is a variant: variants inherit the resource-level hints, which stay empty.
    return dlt.mark.with_hints(rows, hints, create_table_variant=True)


def _mark_lineage(rows: list[Row], hinted: set[str]) -> Any:
    """Route request records to the lineage table, appended with each load."""
    if LINEAGE_TABLE in hinted:
        return dlt.mark.with_table_name(rows, LINEAGE_TABLE)
    hinted.add(LINEAGE_TABLE)
    hints = dlt.mark.make_hints(
        table_name=LINEAGE_TABLE, write_disposition="append", columns=LINEAGE_COLUMNS
    )
    return dlt.mark.with_hints(rows, hints, create_table_variant=True)
