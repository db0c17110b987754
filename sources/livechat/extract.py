"""The resource body: plan one report's requests, fetch them concurrently, yield normalized rows.

Re-fetched days replace what was loaded for them. Each table's merge is scoped to the account
and the days of the run (`destination_scope`), so rows whose dimension vanished and days that
became empty are deleted too; when a table gets no row at all, one placeholder row (empty key)
carries the merge and is filtered out by `source_filter` before it reaches the table.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import dlt
from dlt.common.schema.typing import TWriteDispositionConfig

from .client import LiveChatClient
from .flatten import Context, Row, Tables, total_pages
from .meaning import STATE_KEY as MEANING_KEY
from .progress import NO_PROGRESS, Progress
from .reports import Kind, ReportSpec, TableSpec, primary_key, table_columns
from .settings import Settings
from .windows import Period, Window, periods_touching, plan_range, split

logger = logging.getLogger("livechat_reports")
LINEAGE_TABLE = "report_requests"
STATE_KEY = "last_loaded_day"


@dataclass(frozen=True)
class Request:
    """One planned request: the days it covers and, for per-period reports, the period."""

    window: Window
    period: Period | None = None


def plan_requests(spec: ReportSpec, window: Window, window_days: int) -> list[Request]:
    """Return the requests that load `window` for a report: the fewest its kind allows."""
    if spec.kind is Kind.SERIES:
        return [Request(w) for w in split(window, window_days)]
    if spec.kind is Kind.PERIOD:
        return [Request(p.window, p) for p in periods_touching(window)]
    return [Request(Window(day, day)) for day in window.days]


def request_body(spec: ReportSpec, settings: Settings, window: Window) -> dict[str, Any]:
    """Build the JSON body of one request."""
    start, end = window.bounds(settings.timezone)
    filters: dict[str, Any] = dict(settings.filters)
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


def write_disposition(
    spec: ReportSpec, table: TableSpec, settings: Settings, window: Window
) -> TWriteDispositionConfig:
    """Merge settings of a table for a run over `window`.

    Per-period tables merge by key. Day tables replace the account's rows of the run's days.
    A refresh replaces every row of the account, whatever its day or period.
    """
    account = f"{{table}}.account_id = '{_sql_text(settings.account_id)}'"
    if spec.kind is Kind.PERIOD and not settings.refresh:
        return {"disposition": "merge", "strategy": "delete-insert"}
    scope = account
    if not settings.refresh:
        scope += (
            f" AND {{table}}.report_date >= DATE '{window.first}'"
            f" AND {{table}}.report_date <= DATE '{window.last}'"
        )
    config: dict[str, Any] = {
        "disposition": "merge",
        "strategy": "delete-insert",
        "destination_scope": scope,
    }
    if table.dimensions:
        config["source_filter"] = f"{table.dimensions[0]} <> ''"
    return config  # type: ignore[return-value]


def placeholder_row(table: TableSpec, settings: Settings, window: Window) -> Row:
    """A row with an empty dimension: it carries the merge of a table that got no rows."""
    row: Row = {"account_id": settings.account_id, "report_date": window.first}
    row.update({d: "" for d in table.dimensions})
    return row


def table_hints(spec: ReportSpec, table: TableSpec, settings: Settings, window: Window) -> Any:
    """The dlt hints of a table for this run."""
    return dlt.mark.make_hints(
        table_name=table.name,
        write_disposition=write_disposition(spec, table, settings, window),
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
    ctx = Context(
        report=spec.path,
        table=spec.name,
        account_id=settings.account_id,
        window=request.window,
        timezone=settings.timezone,
        distribution=settings.distribution if spec.hourly else "day",
        period=request.period.kind if request.period else None,
    )
    body = request_body(spec, settings, request.window)
    tables: Tables = {t.name: [] for t in spec.tables}
    lineage: list[Row] = []
    page, pages, announced = 1, 1, 1
    while page <= pages:
        if spec.kind is Kind.PAGED:
            body["page"] = page
        requested_at = dt.datetime.now(dt.timezone.utc)
        fetched = client.post(spec.path, body, str(request.window))
        progress.request_done(spec.name, fetched.attempts)
        answer = fetched.body
        if answer.get("name") != spec.response_name:
            raise ctx.fail(f"`name` is `{answer.get('name')}`, expected `{spec.response_name}`")
        for name, rows in spec.flatten(answer, ctx).items():
            tables[name].extend(rows)
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
                "filters": settings.meaning["filters"],
                "page": page if spec.kind is Kind.PAGED else None,
                "http_status": fetched.status,
                "attempts": fetched.attempts,
                "duration_seconds": round(fetched.seconds, 4),
                "response_total": total
                if isinstance(total, (int, float)) and not isinstance(total, bool)
                else None,
                "requested_at": requested_at,
            }
        )
        page += 1
    return tables, lineage


def report_rows(
    spec: ReportSpec,
    settings: Settings,
    client: LiveChatClient,
    state: Callable[[], dict[str, Any]] = dlt.current.resource_state,
    source_state: Callable[[], dict[str, Any]] = dlt.current.source_state,
    progress: Progress = NO_PROGRESS,
) -> Iterator[Any]:
    """Yield a report's rows for the run: the resource function of every report.

    Args:
        spec: The report.
        settings: The run's validated settings.
        client: The shared HTTP client.
        state: Returns this resource's dlt state.
        source_state: Returns the source's dlt state, where the dataset's meaning is recorded.
        progress: Told the plan, each answered request and the real rows yielded.
    """
    resource_state = state()
    # Committed with this run's rows, and only with them, like every dlt state change.
    source_state()[MEANING_KEY] = settings.meaning
    last_loaded = resource_state.get(STATE_KEY)
    window: Window | None
    if settings.backfill or settings.refresh:
        window = Window(settings.start_date, settings.end_date)
    else:
        window = plan_range(
            start_date=settings.start_date,
            end_date=settings.end_date,
            last_loaded=dt.date.fromisoformat(last_loaded) if last_loaded else None,
            lookback_days=settings.lookback_days,
        )
    if window is None:
        logger.info("%s: nothing to load (last loaded day %s)", spec.name, last_loaded)
        return
    requests = plan_requests(spec, window, settings.window_days)
    progress.planned(spec.name, len(requests))
    started = time.monotonic()
    hinted: set[str] = set()
    counts = {t.name: 0 for t in spec.tables}
    by_name = {t.name: t for t in spec.tables}
    jobs = [functools.partial(_fetch, spec, settings, client, progress, r) for r in requests]
    for tables, lineage in client.map_ordered(jobs):
        for name, rows in tables.items():
            if not rows:
                continue
            counts[name] += len(rows)
            progress.rows(name, len(rows))
            yield _mark(rows, spec, by_name[name], settings, window, hinted)
        if lineage:
            progress.rows(LINEAGE_TABLE, len(lineage))
            yield _mark_lineage(lineage, hinted)
    for name, count in counts.items():
        table = by_name[name]
        # Only dimension tables can end a run without rows (series and per-day tables always
        # have a row per day); their placeholder carries the merge and is filtered out.
        if count == 0 and table.dimensions and spec.kind is not Kind.PERIOD:
            progress.rows(name, 0)
            yield _mark(
                [placeholder_row(table, settings, window)],
                spec,
                table,
                settings,
                window,
                hinted,
            )
    logger.info(
        "%s: %d requests for %s, %s rows, %.1fs",
        spec.name, len(requests), window, sum(counts.values()), time.monotonic() - started,
    )  # fmt: skip
    if settings.refresh:
        resource_state[STATE_KEY] = str(window.last)
    elif not settings.backfill:
        previous = resource_state.get(STATE_KEY)
        newest = str(window.last) if previous is None else max(previous, str(window.last))
        resource_state[STATE_KEY] = newest


def _mark(
    rows: list[Row],
    spec: ReportSpec,
    table: TableSpec,
    settings: Settings,
    window: Window,
    hinted: set[str],
) -> Any:
    """Route rows to their table; the first batch of each table carries the run's hints."""
    if table.name in hinted:
        return dlt.mark.with_table_name(rows, table.name)
    hinted.add(table.name)
    hints = table_hints(spec, table, settings, window)
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
