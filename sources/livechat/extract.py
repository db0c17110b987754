"""The resource body of every report: plan its run, fetch the answers, yield normalized rows.

The plan (`plan`) says which days (and per listed group, which days of it) a run loads; the
answers are fetched concurrently on the client's pool (`fetch`); each table's rows carry the
merge that replaces those days (`merge`), and every answered request adds a row to the lineage
table (`lineage`). A group's day without data (an empty bucket) stores no row at all, so a
listed id the account's chats never name stores nothing (`directory`).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import dlt

from .breakdown import allows
from .client import LiveChatClient
from .cursors import record_loaded, resumes_from
from .directory import GROUPS_REPORT, GroupDirectory
from .fetch import fetch
from .flatten import Row, Tables
from .lineage import LINEAGE_TABLE, mark_lineage
from .meaning import STATE_KEY as MEANING_KEY
from .merge import Replaced, placeholder_row, table_hints
from .plan import RunPlan, plan_requests, plan_run
from .progress import NO_PROGRESS, Progress
from .reports import Kind, ReportSpec, TableSpec
from .settings import Settings

logger = logging.getLogger("livechat_reports")


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
        directory: Where chats_groups and per-group reports get the run's groups (and the days
            each group had chats on), when the run breaks reports down by group.
    """
    resource_state = state()
    source = source_state()
    # Committed with this run's rows, and only with them, like every dlt state change.
    source[MEANING_KEY] = settings.meaning
    plan = plan_run(spec, settings, resource_state)
    if plan is None:
        logger.info(
            "%s: nothing to load (last loaded day %s)", spec.name, resumes_from(resource_state)
        )
        return
    started = time.monotonic()
    answers = _ask(spec, settings, client, progress, directory, plan, source.get("resources", {}))
    counts = yield from _rows(spec, settings, plan, answers, progress, directory)
    logger.info(
        "%s: %d requests for %s, %s rows, %.1fs",
        spec.name, answers.requests + len(answers.asked), plan.window, sum(counts.values()),
        time.monotonic() - started,
    )  # fmt: skip
    record_loaded(resource_state, settings, plan.replaced, plan.listed)


@dataclass
class Answers:
    """What a report's run asked for.

    Attributes:
        requests: Requests the report made itself.
        asked: Lineage of the chats/groups requests the group directory made for this run,
            recorded with this report (each request once).
        answers: Rows per table and lineage, one pair per request, in the plan's order.
    """

    requests: int
    asked: list[Row]
    answers: Iterable[tuple[Tables, list[Row]]]


def _ask(
    spec: ReportSpec,
    settings: Settings,
    client: LiveChatClient,
    progress: Progress,
    directory: GroupDirectory | None,
    plan: RunPlan,
    resources: Mapping[str, Any],
) -> Answers:
    """Send the plan's requests (concurrently, on the client's pool)."""
    if directory is not None and spec.name == GROUPS_REPORT.name:
        rows, lineage = directory.rows(plan.window, resources)
        return Answers(0, lineage, [({spec.name: rows}, [])])
    asked: list[Row] = []
    if plan.listed:
        if len(plan.spans) > 1:
            for days, members in plan.spans:  # say why some groups load more days than others
                logger.info("%s: groups %s load %s", spec.name, list(members), days)
        requests = [
            r for w, gs in plan.spans for r in plan_requests(spec, w, settings.window_days, gs)
        ]
        if directory is not None:  # the days each group had chats on
            asked = directory.prepare(resources)
    else:
        found: list[int] = []
        if spec.group is not None and directory is not None:
            groups, asked = directory.groups(plan.window, resources)
            found = [g for g in groups if allows(spec, settings.filters, g)]
        requests = plan_requests(spec, plan.window, settings.window_days, found)
    progress.planned(spec.name, len(requests))
    jobs = [functools.partial(fetch, spec, settings, client, r, progress) for r in requests]
    return Answers(len(requests), asked, client.map_ordered(jobs))


def _rows(
    spec: ReportSpec,
    settings: Settings,
    plan: RunPlan,
    answers: Answers,
    progress: Progress,
    directory: GroupDirectory | None,
) -> Generator[Any, None, dict[str, int]]:
    """Yield the answers' rows, routed to their tables with the run's merge; return the counts.

    Tables that got no row (only dimension and per-group tables can: the account's series and
    per-day tables have a row per day) get one placeholder row that carries the merge.
    """
    hinted: set[str] = set()
    counts = {t.name: 0 for t in spec.tables}
    by_name = {t.name: t for t in spec.tables}
    if answers.asked:
        progress.rows(LINEAGE_TABLE, len(answers.asked))
        yield mark_lineage(answers.asked, hinted)
    for tables, lineage in answers.answers:
        for name, rows in tables.items():
            if spec.group is not None and directory is not None:
                rows = [r for r in rows if directory.keeps(r, by_name[name])]
            if not rows:
                continue
            counts[name] += len(rows)
            progress.rows(name, len(rows))
            yield _mark(rows, spec, by_name[name], settings, plan.replaced, hinted)
        if lineage:
            progress.rows(LINEAGE_TABLE, len(lineage))
            yield mark_lineage(lineage, hinted)
    for name, count in counts.items():
        table = by_name[name]
        if count == 0 and table.merge_key and spec.kind is not Kind.PERIOD:
            progress.rows(name, 0)
            placeholder = [placeholder_row(table, settings, plan.window)]
            yield _mark(placeholder, spec, table, settings, plan.replaced, hinted)
    return counts


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
