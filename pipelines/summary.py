"""What a command prints after a load or a check, for one account and for many."""

from __future__ import annotations

import sys
from typing import Any


def print_summary(summary: Any, out: Any = None) -> None:
    """Print what a load of one account did: rows, days, the transform, requests, notes."""
    out = out or sys.stdout
    days = f"{summary.first_day}..{summary.last_day}" if summary.first_day else "no new days"
    print(f"Loaded {sum(summary.rows.values())} rows, {days}, in {summary.seconds:.1f}s", file=out)
    print(f"  into: {summary.destination}", file=out)
    if summary.transform is not None:
        print(transform_line(summary.transform), file=out)
    print(f"  requests: {summary.requests} ({summary.retried} retried)", file=out)
    if summary.finished_pending:
        print(
            f"  finished {summary.finished_pending} package(s) of an interrupted run first",
            file=out,
        )
    if summary.discarded_pending:
        print(
            f"  discarded {summary.discarded_pending} package(s) of an interrupted run that could"
            " not be loaded; their days were loaded again",
            file=out,
        )
    for table, count in summary.rows.items():
        print(f"  {table:<40} {count:>8}", file=out)
    print_notes(summary, out)


def transform_line(transform: Any) -> str:
    """The summary's line about the transform (a `TransformResult`): "views", as users see them."""
    built = (
        "unchanged"
        if transform.unchanged
        else f"{len(transform.built)} built, {transform.tests} tests"
    )
    return f"  views: {built}"


def print_notes(summary: Any, out: Any, indent: str = "  ") -> None:
    """Print what the summary found worth a look that did not fail the load."""
    from pipelines.groups import unseen_note

    for group in summary.unseen_groups:
        print(f"{indent}note: {unseen_note(group)}", file=out)


def passed_check_lines(result: Any) -> list[str]:
    """The lines under a passed check: today's chats, the answer's time, a breakdown's cost."""
    lines = [
        f"  {result.day} in {result.timezone}: {result.total_chats} chats;"
        f" answered in {result.seconds:.2f}s"
    ]
    if result.grouped_reports:
        lines.append(
            f"  breakdown by group: {len(result.grouped_reports)} reports, a daily run asks"
            f" {result.requests_per_group} more requests per group"
        )
    days = result.groups_days
    for group in result.unseen_groups:
        lines.append(
            f"  listed group {group} has no chats in chats/groups from {days.first} to"
            f" {days.last}: check the id (a load asks for it every day, and its days without"
            " data store no row)"
        )
    return lines
