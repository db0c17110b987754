"""The weeks and months of the kpi marts, and the tiles' metrics.

A period carries the marts' values for one week or month, whether the marts flag it partial,
and how many of its days are loaded. The reader may pick any period of the trend window for the
tiles; the page opens on the last full one (else the latest, marked partial).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .read import Row, as_date


@dataclass(frozen=True)
class Metric:
    """A KPI tile: where its value comes from, how it is shown, which way is better.

    Attributes:
        key: The kpi mart column (or `avg_queue_wait_seconds`, computed from staging).
        label: The tile's title.
        kind: `count`, `rate`, `seconds` or `hours` (how the value is formatted).
        better: `up`, `down` or None (a change is only coloured where one way is better).
    """

    key: str
    label: str
    kind: str
    better: str | None


METRICS = (
    Metric("total_chats", "Chats", "count", None),
    Metric("missed_chats", "Missed chats", "count", "down"),
    Metric("missed_chat_rate", "Missed chat rate", "rate", "down"),
    Metric("satisfaction_rate", "Satisfaction", "rate", "up"),
    Metric("avg_first_response_time_seconds", "First response time", "seconds", "down"),
    Metric("avg_response_time_seconds", "Response time", "seconds", "down"),
    Metric("avg_chat_duration_seconds", "Chat duration", "seconds", None),
    Metric("unique_visitors", "Unique visitors", "count", None),
    Metric("queued_visitors", "Queued customers", "count", None),
    Metric("queue_abandonment_rate", "Queue abandonment", "rate", "down"),
    Metric("avg_queue_wait_seconds", "Average queue wait", "seconds", "down"),
    Metric("available_hours", "Available hours", "hours", None),
)
# The tiles of a group: the `*_by_group` marts have no visitors, queues or availability.
GROUP_METRICS = tuple(
    m
    for m in METRICS
    if m.key
    in (
        "total_chats",
        "missed_chats",
        "missed_chat_rate",
        "satisfaction_rate",
        "avg_first_response_time_seconds",
    )
)
# Columns kept beside the tiles' values: the parts of the rates (for totals across accounts).
PARTS = ("chats_rated_good", "chats_rated_bad", "left_queue_visitors")


@dataclass(frozen=True)
class Period:
    """One week or month of the kpi marts."""

    start: dt.date
    end: dt.date
    partial: bool
    values: dict[str, Any]
    days_complete: int


@dataclass(frozen=True)
class Comparison:
    """A period of a grain and the one before it (None when not loaded)."""

    grain: str
    current: Period | None
    previous: Period | None


def months_back(month_start: dt.date, count: int) -> dt.date:
    """The first day of the month `count` months before `month_start`'s."""
    index = month_start.year * 12 + month_start.month - 1 - count
    return dt.date(index // 12, index % 12 + 1, 1)


def week_end(start: dt.date) -> dt.date:
    """The Sunday of the week that starts on `start`."""
    return start + dt.timedelta(days=6)


def month_end(start: dt.date) -> dt.date:
    """The last day of the month that starts on `start`."""
    return months_back(start, -1) - dt.timedelta(days=1)


# The weights of the averages, summed per period beside the marts' values: the chats each
# average is over (int_kpi_daily) and the queue's waits (the queue report's buckets).
WEIGHTS = ("first_response_time_chats", "response_time_chats", "chat_duration_chats")
DayParts = dict[dt.date, dict[str, float]]


def day_parts(weights: Iterable[Row], queues: Iterable[Row]) -> DayParts:
    """Per day: the chats the averages are over, the customers queued and their summed waits.

    The marts keep no queue wait, so it is weighted here as the marts weight averages: each
    bucket's average wait times its queued customers, over all queued customers.
    """
    parts: DayParts = {}
    for row in sorted(weights, key=lambda r: as_date(r["report_date"])):
        day = parts.setdefault(as_date(row["report_date"]), {})
        for column in WEIGHTS:
            day[column] = day.get(column, 0) + int(row[column] or 0)
    ordered = sorted(queues, key=lambda r: (as_date(r["report_date"]), str(r["report_hour"])))
    for row in ordered:
        queued, average = row["queued_visitors"], row["queued_avg_seconds"]
        if not queued or average is None:
            continue
        day = parts.setdefault(as_date(row["report_date"]), {})
        day["queue_wait_customers"] = day.get("queue_wait_customers", 0) + int(queued)
        day["queue_wait_seconds"] = day.get("queue_wait_seconds", 0.0) + float(average) * int(
            queued
        )
    return parts


def _period_parts(parts: DayParts, start: dt.date, end: dt.date) -> dict[str, Any]:
    summed: dict[str, Any] = {}
    for day in sorted(d for d in parts if start <= d <= end):
        for column, value in parts[day].items():
            summed[column] = summed.get(column, 0) + value
    customers, seconds = summed.get("queue_wait_customers"), summed.get("queue_wait_seconds")
    summed["avg_queue_wait_seconds"] = seconds / customers if customers else None
    return summed


def periods_of(
    rows: list[Row],
    column: str,
    end_of: Callable[[dt.date], dt.date],
    complete: list[dt.date],
    parts: DayParts,
) -> list[Period]:
    """The mart's periods in date order, with their complete days (`complete`, from kpi_daily)."""
    periods = []
    for row in sorted(rows, key=lambda r: as_date(r[column])):
        start = as_date(row[column])
        end = end_of(start)
        values = {m.key: row.get(m.key) for m in METRICS}
        values.update({c: row.get(c) for c in PARTS})
        values.update(_period_parts(parts, start, end))
        done = sum(1 for d in complete if start <= d <= end)
        periods.append(Period(start, end, bool(row["is_partial_period"]), values, done))
    return periods


def choices(
    grain: str,
    periods: list[Period],
    before: Callable[[dt.date], dt.date],
    since: dt.date,
) -> list[Comparison]:
    """The periods a reader can pick for the tiles, the one shown first leading, then newest first.

    The one shown first is the last full period, else the latest (partial); the others are
    every period that ends in the trend window (from `since`).
    """
    if not periods:
        return []
    full = [p for p in periods if not p.partial]
    first = full[-1] if full else periods[-1]
    by_start = {p.start: p for p in periods}
    picked = [first] + [p for p in reversed(periods) if p.end >= since and p is not first]
    return [Comparison(grain, p, by_start.get(before(p.start))) for p in picked]
