"""What one account's page shows, picked from the mart rows: periods, tiles, tables, series.

Nothing here reads a clock: "the last full week" is the latest week the marts do not flag as
`is_partial_period`, so the same data always gives the same page.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .periods import (
    Comparison,
    Period,
    choices,
    day_parts,
    month_end,
    months_back,
    periods_of,
    week_end,
)
from .read import DashboardError, Marts, Row, as_date

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAILY_DAYS = 30  # the daily chart: the last 30 days up to the last loaded one

# The weekly series the trend charts draw, by kpi mart column (and the queue wait, computed).
WEEKLY_COLUMNS = (
    "total_chats",
    "missed_chats",
    "satisfaction_rate",
    "avg_first_response_time_seconds",
    "avg_response_time_seconds",
    "avg_chat_duration_seconds",
    "queued_visitors",
    "queue_abandonment_rate",
    "avg_queue_wait_seconds",
)

__all__ = ["WEEKDAYS", "AccountView", "Comparison", "Period", "account_view", "accounts_in"]


@dataclass
class AccountView:
    """Everything one account's part of the page shows.

    `week` and `month` are the tiles shown first (the last full period, else the latest one,
    marked partial); `week_choices` and `month_choices` every period of the trend window the
    reader can pick instead, newest first, each with the period before it.
    """

    account_id: str
    first_day: dt.date
    last_day: dt.date
    window_start: dt.date
    week_periods: list[Period]
    month_periods: list[Period]
    week: Comparison
    month: Comparison
    week_choices: list[Comparison]
    month_choices: list[Comparison]
    weeks: list[dict[str, Any]]
    daily: list[dict[str, Any]]
    month_start: dt.date | None
    month_partial: bool
    agents: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    greetings: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    heatmap: list[dict[str, Any]] | None
    timezone: str | None
    group_views: list[GroupView] = field(default_factory=list)


@dataclass
class GroupView:
    """One group's tiles and weekly trends, from the `*_by_group` marts."""

    group_id: str
    week_choices: list[Comparison]
    month_choices: list[Comparison]
    weeks: list[dict[str, Any]]


def accounts_in(marts: Marts) -> list[str]:
    """Return the accounts with daily KPIs, in a stable order."""
    return sorted({str(r["account_id"]) for r in marts.rows["kpi_daily"]})


def account_view(marts: Marts, account: str, months: int) -> AccountView:
    """Pick what the page shows for one account.

    Args:
        marts: The rows read from the dataset.
        account: The account id.
        months: How many calendar months (the last loaded one included) the weekly trends and
            the heatmap cover (and the periods the reader can pick for the tiles).
    """
    rows: dict[str, list[Row]] = defaultdict(list)
    for name, found in marts.rows.items():
        rows[name] = [r for r in found if r["account_id"] == account]
    daily_rows = sorted(rows["kpi_daily"], key=lambda r: as_date(r["report_date"]))
    days = [as_date(r["report_date"]) for r in daily_rows]
    if not days:
        raise DashboardError(f"Account `{account}` has no rows in kpi_daily.")
    first_day, last_day = days[0], days[-1]
    complete = [as_date(r["report_date"]) for r in daily_rows if not r["is_partial_period"]]
    window_start = max(first_day, months_back(last_day.replace(day=1), months - 1))
    parts = day_parts(rows["weights"], rows["queues"])
    weeks = periods_of(rows["kpi_weekly"], "week_start", week_end, complete, parts)
    months_ = periods_of(rows["kpi_monthly"], "month_start", month_end, complete, parts)
    week_choices = choices("week", weeks, _week_before, window_start)
    month_choices = choices("month", months_, _month_before, window_start)
    week = week_choices[0] if week_choices else Comparison("week", None, None)
    month = month_choices[0] if month_choices else Comparison("month", None, None)
    # Monthly breakdowns follow the month of the tiles shown first.
    chosen = month.current
    month_start = chosen.start if chosen else None
    view = AccountView(
        account_id=account,
        first_day=first_day,
        last_day=last_day,
        window_start=window_start,
        week_periods=weeks,
        month_periods=months_,
        week=week,
        month=month,
        week_choices=week_choices,
        month_choices=month_choices,
        weeks=week_series(weeks, window_start),
        daily=_daily(daily_rows, last_day),
        month_start=month_start,
        month_partial=bool(chosen and chosen.partial),
        agents=_agents(rows["agents"], month_start),
        tags=_of_month(rows["tags"], month_start, ("tag", "chats", "share_of_chats"), "tag"),
        greetings=_of_month(
            rows["greetings"],
            month_start,
            ("greeting_id", "displayed", "accepted", "goals"),
            "greeting_id",
            order="displayed",
        ),
        groups=_of_month(
            rows["groups"], month_start, ("group_id", "chats", "share_of_chats"), "group_id"
        ),
        heatmap=None,
        timezone=_timezone(rows["timezones"]),
    )
    view.group_views = _group_views(rows, complete, window_start)
    hourly = [r for r in marts.hourly if r["account_id"] == account]
    if hourly:
        view.heatmap = _heatmap(hourly, window_start, view.timezone or "UTC")
    return view


def _week_before(start: dt.date) -> dt.date:
    return start - dt.timedelta(days=7)


def _month_before(start: dt.date) -> dt.date:
    return months_back(start, 1)


def _group_views(
    rows: dict[str, list[Row]], complete: list[dt.date], since: dt.date
) -> list[GroupView]:
    """Each group's periods, when the group breakdown is loaded (else none)."""
    weekly: dict[str, list[Row]] = defaultdict(list)
    monthly: dict[str, list[Row]] = defaultdict(list)
    for row in rows["kpi_weekly_by_group"]:
        weekly[str(row["group_id"])].append(row)
    for row in rows["kpi_monthly_by_group"]:
        monthly[str(row["group_id"])].append(row)
    views = []
    for group in sorted(set(weekly) | set(monthly), key=_group_order):
        weeks = periods_of(weekly[group], "week_start", week_end, complete, {})
        months_ = periods_of(monthly[group], "month_start", month_end, complete, {})
        views.append(
            GroupView(
                group_id=group,
                week_choices=choices("week", weeks, _week_before, since),
                month_choices=choices("month", months_, _month_before, since),
                weeks=week_series(weeks, since),
            )
        )
    return views


def _group_order(group: str) -> tuple[int, str]:
    return (int(group), group) if group.isdigit() else (1 << 62, group)


def week_series(weeks: list[Period], window_start: dt.date) -> list[dict[str, Any]]:
    """The weeks of the trend window, each with its values, whether partial, its complete days."""
    return [
        {
            "week_start": p.start,
            "partial": p.partial,
            "days_complete": p.days_complete,
            **{c: p.values.get(c) for c in WEEKLY_COLUMNS},
        }
        for p in weeks
        if p.end >= window_start
    ]


def _daily(rows: list[Row], last_day: dt.date) -> list[dict[str, Any]]:
    since = last_day - dt.timedelta(days=DAILY_DAYS - 1)
    return [
        {
            "day": as_date(r["report_date"]),
            "total_chats": r["total_chats"],
            "missed_chats": r.get("missed_chats"),
        }
        for r in rows
        if as_date(r["report_date"]) >= since
    ]


def _agents(rows: list[Row], month_start: dt.date | None) -> list[dict[str, Any]]:
    chosen = [r for r in rows if month_start and as_date(r["month_start"]) == month_start]
    # Best ranking score first; agents without rated chats after them; then chats, then id.
    chosen.sort(
        key=lambda r: (
            r["ranking_score"] is None,
            -(r["ranking_score"] or 0.0),
            -(r["chats"] or 0),
            str(r["agent_id"]),
        )
    )
    columns = (
        "ranking_score",
        "chats",
        "avg_first_response_time_seconds",
        "chatting_time_seconds",
        "accepting_chats_time_seconds",
        "not_accepting_chats_time_seconds",
        "logged_in_time_seconds",
    )
    return [{"agent_id": str(r["agent_id"]), **{c: r.get(c) for c in columns}} for r in chosen]


def _of_month(
    rows: list[Row],
    month_start: dt.date | None,
    columns: tuple[str, ...],
    key: str,
    order: str = "chats",
) -> list[dict[str, Any]]:
    chosen: list[dict[str, Any]] = [
        {c: (str(r[c]) if c == key else r[c]) for c in columns}
        for r in rows
        if month_start and as_date(r["month_start"]) == month_start
    ]
    chosen.sort(key=lambda r: (-(r[order] or 0), r[key]))
    return chosen


def _timezone(rows: list[Row]) -> str | None:
    """The time zone of the account's latest request (a dataset keeps one; see the README)."""
    dated = [r for r in rows if r["timezone"] and r["last_requested"] is not None]
    if not dated:
        return None
    return str(max(dated, key=lambda r: (r["last_requested"], r["timezone"]))["timezone"])


def _heatmap(rows: list[Row], window_start: dt.date, timezone: str) -> list[dict[str, Any]]:
    """Average chats per weekday and local hour over the window's days: all 7 x 24 cells.

    A weekday occurs a different number of times in a window (a window of 17 days has three
    Tuesdays and two Mondays), so each cell is its sum over the number of loaded days of that
    weekday. A loaded day has a row for every hour, zeros included (the API sends empty
    buckets), so a quiet day counts as a day with no chats, not as a missing day.
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    cells: dict[tuple[int, int], int] = defaultdict(int)
    loaded: set[dt.date] = set()
    for row in rows:
        day = as_date(row["report_date"])
        if day < window_start:
            continue
        loaded.add(day)
        hour = dt.datetime.fromtimestamp(float(row["hour_epoch"]), zone).hour
        cells[(day.weekday(), hour)] += int(row["chats"] or 0)
    occurrences = _count_by(loaded, lambda d: d.weekday())
    return [
        {
            "weekday": WEEKDAYS[d],
            "weekday_index": d,
            "hour": h,
            "chats": cells[(d, h)],
            "days": occurrences.get(d, 0),
            "average": cells[(d, h)] / occurrences[d] if occurrences.get(d) else None,
        }
        for d in range(7)
        for h in range(24)
    ]


def _count_by(days: set[dt.date], key: Callable[[dt.date], int]) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for day in days:
        counts[key(day)] += 1
    return dict(counts)
