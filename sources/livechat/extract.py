"""One account's report for a run: plan it, fetch the answers, return normalized rows.

The plan (`plan`) says which days (and per listed group, which days of it) a run loads; the
answers are fetched concurrently on the client's pool (`fetch`); every answered request adds a
row to the lineage table (`lineage`). A group's day without data (an empty bucket) stores no
row at all, so a listed id the account's chats never name stores nothing (`directory`). The
rows are handed to dlt, with the merge that replaces their days (`merge`), by the shard
(`shard`) once every report of the account is in.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .breakdown import allows
from .client import LiveChatClient
from .cursors import record_loaded, resumes_from
from .directory import GROUPS_REPORT, GroupDirectory
from .fetch import fetch
from .flatten import Row, Tables
from .lineage import LINEAGE_TABLE
from .merge import Replaced, placeholder_row
from .plan import RunPlan, plan_requests, plan_run
from .progress import NO_PROGRESS, Progress
from .reports import Kind, ReportSpec
from .settings import Settings

logger = logging.getLogger("livechat_reports")


@dataclass
class ReportRows:
    """One account's rows of one report for a run, not yet handed to dlt.

    Attributes:
        batches: (table, rows) pairs in the order the answers came: the report's tables, the
            lineage table, and a placeholder row for a table that got none (it carries the merge).
        replaced: The days (and groups) the run replaces in the report's tables.
    """

    batches: list[tuple[str, list[Row]]]
    replaced: Replaced


def report_rows(
    spec: ReportSpec,
    settings: Settings,
    client: LiveChatClient,
    resource_state: dict[str, Any],
    resources: Mapping[str, Any],
    progress: Progress = NO_PROGRESS,
    directory: GroupDirectory | None = None,
) -> ReportRows | None:
    """Fetch one account's rows of a report for the run, and record the days in its state.

    Args:
        spec: The report (or its per-group copy).
        settings: The account's validated settings.
        client: The account's HTTP client.
        resource_state: The report's cursor state for the account; updated in place once every
            answer is in (the caller commits it with the rows, and only with them).
        resources: Every report's cursor state for the account as the run began (the group
            directory plans from them).
        progress: Told the plan, each answered request and the real rows.
        directory: Where chats_groups and per-group reports get the run's groups (and the days
            each group had chats on), when the account's reports are broken down by group.

    Returns:
        The rows, or None when the report has nothing to load.
    """
    plan = plan_run(spec, settings, resource_state)
    if plan is None:
        logger.info(
            "%s: nothing to load (last loaded day %s)", spec.name, resumes_from(resource_state)
        )
        return None
    started = time.monotonic()
    answers = _ask(spec, settings, client, progress, directory, plan, resources)
    batches, counts = _rows(spec, settings, plan, answers, progress, directory)
    logger.info(
        "%s: %d requests for %s, %s rows, %.1fs",
        spec.name, answers.requests + len(answers.asked), plan.window, sum(counts.values()),
        time.monotonic() - started,
    )  # fmt: skip
    record_loaded(resource_state, settings, plan.replaced, plan.listed)
    return ReportRows(batches, plan.replaced)


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
) -> tuple[list[tuple[str, list[Row]]], dict[str, int]]:
    """Return the answers' rows as (table, rows) batches, and the real rows per table.

    Tables that got no row (only dimension and per-group tables can: the account's series and
    per-day tables have a row per day) get one placeholder row that carries the merge.
    """
    batches: list[tuple[str, list[Row]]] = []
    counts = {t.name: 0 for t in spec.tables}
    by_name = {t.name: t for t in spec.tables}
    if answers.asked:
        progress.rows(LINEAGE_TABLE, len(answers.asked))
        batches.append((LINEAGE_TABLE, answers.asked))
    for tables, lineage in answers.answers:
        for name, rows in tables.items():
            if spec.group is not None and directory is not None:
                rows = [r for r in rows if directory.keeps(r, by_name[name])]
            if not rows:
                continue
            counts[name] += len(rows)
            progress.rows(name, len(rows))
            batches.append((name, rows))
        if lineage:
            progress.rows(LINEAGE_TABLE, len(lineage))
            batches.append((LINEAGE_TABLE, lineage))
    for name, count in counts.items():
        table = by_name[name]
        if count == 0 and table.merge_key and spec.kind is not Kind.PERIOD:
            progress.rows(name, 0)
            batches.append((name, [placeholder_row(table, settings, plan.window)]))
    return batches, counts
