"""What one account's page shows, picked from the mart rows: periods, tiles, tables, series.

Nothing here reads a clock: "the last full week" is the latest week the marts do not flag as
`is_partial_period`, so the same data always gives the same page.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .read import DashboardError, Marts, Row, as_date

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Metric:
    """A KPI tile: where its value comes from, how it is shown, which way is better.

    Attributes:
        key: The kpi mart column.
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
    Metric("satisfaction_rate", "Satisfaction", "rate", "up"),
    Metric("missed_chat_rate", "Missed chats", "rate", "down"),
    Metric("avg_first_response_time_seconds", "First response time", "seconds", "down"),
    Metric("avg_response_time_seconds", "Response time", "seconds", "down"),
    Metric("avg_chat_duration_seconds", "Chat duration", "seconds", None),
    Metric("unique_visitors", "Unique visitors", "count", None),
    Metric("queue_abandonment_rate", "Queue abandonment", "rate", "down"),
    Metric("available_hours", "Available hours", "hours", None),
)


@dataclass(frozen=True)
class Period:
    """One week or month of the kpi marts."""

    start: dt.date
    end: dt.date
    partial: bool
    values: dict[str, Any]


@dataclass(frozen=True)
class Comparison:
    """The last full period of a grain and the one before it (None when not loaded)."""

    grain: str
    current: Period | None
    previous: Period | None


@dataclass
class AccountView:
    """Everything one account's part of the page shows."""

    account_id: str
    first_day: dt.date
    last_day: dt.date
    window_start: dt.date
    week: Comparison
    month: Comparison
    weeks: list[dict[str, Any]]
    month_start: dt.date | None
    month_partial: bool
    agents: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    greetings: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    heatmap: list[dict[str, Any]] | None
    timezone: str | None


def accounts_in(marts: Marts) -> list[str]:
    """Return the accounts with daily KPIs, in a stable order."""
    return sorted({str(r["account_id"]) for r in marts.rows["kpi_daily"]})


def account_view(marts: Marts, account: str, months: int) -> AccountView:
    """Pick what the page shows for one account.

    Args:
        marts: The rows read from the dataset.
        account: The account id.
        months: How many calendar months (the last loaded one included) the weekly trends and
            the heatmap cover.
    """
    rows = {
        name: [r for r in found if r["account_id"] == account] for name, found in marts.rows.items()
    }
    days = sorted(as_date(r["report_date"]) for r in rows["kpi_daily"])
    if not days:
        raise DashboardError(f"Account `{account}` has no rows in kpi_daily.")
    first_day, last_day = days[0], days[-1]
    window_start = max(first_day, _months_back(last_day.replace(day=1), months - 1))
    weeks = _periods(rows["kpi_weekly"], "week_start", _week_end)
    months_ = _periods(rows["kpi_monthly"], "month_start", _month_end)
    month = _compare("month", months_, lambda start: _months_back(start, 1))
    # Monthly breakdowns follow the month of the tiles, or the latest month when none is full.
    chosen = month.current or (months_[-1] if months_ else None)
    month_start = chosen.start if chosen else None
    view = AccountView(
        account_id=account,
        first_day=first_day,
        last_day=last_day,
        window_start=window_start,
        week=_compare("week", weeks, lambda start: start - dt.timedelta(days=7)),
        month=month,
        weeks=_week_series(weeks, days, window_start),
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
    hourly = [r for r in marts.hourly if r["account_id"] == account]
    if hourly:
        view.heatmap = _heatmap(hourly, window_start, view.timezone or "UTC")
    return view


def _months_back(month_start: dt.date, count: int) -> dt.date:
    index = month_start.year * 12 + month_start.month - 1 - count
    return dt.date(index // 12, index % 12 + 1, 1)


def _week_end(start: dt.date) -> dt.date:
    return start + dt.timedelta(days=6)


def _month_end(start: dt.date) -> dt.date:
    return _months_back(start, -1) - dt.timedelta(days=1)


def _periods(rows: list[Row], column: str, end_of: Any) -> list[Period]:
    periods = []
    for row in sorted(rows, key=lambda r: as_date(r[column])):
        start = as_date(row[column])
        end = end_of(start)
        values = {m.key: row.get(m.key) for m in METRICS}
        values["chats_rated_good"] = row.get("chats_rated_good")
        values["chats_rated_bad"] = row.get("chats_rated_bad")
        periods.append(Period(start, end, bool(row["is_partial_period"]), values))
    return periods


def _compare(grain: str, periods: list[Period], before: Callable[[dt.date], dt.date]) -> Comparison:
    full = [p for p in periods if not p.partial]
    if not full:
        return Comparison(grain, None, None)
    current = full[-1]
    wanted = before(current.start)
    previous = next((p for p in periods if p.start == wanted), None)
    return Comparison(grain, current, previous)


def _week_series(
    weeks: list[Period], days: list[dt.date], window_start: dt.date
) -> list[dict[str, Any]]:
    loaded: dict[dt.date, int] = defaultdict(int)
    for day in days:
        loaded[day - dt.timedelta(days=day.weekday())] += 1
    return [
        {
            "week_start": p.start,
            "partial": p.partial,
            "days_loaded": loaded[p.start],
            "total_chats": p.values["total_chats"],
            "satisfaction_rate": p.values["satisfaction_rate"],
            "avg_first_response_time_seconds": p.values["avg_first_response_time_seconds"],
        }
        for p in weeks
        if p.end >= window_start
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
    return [
        {
            "agent_id": str(r["agent_id"]),
            "ranking_score": r["ranking_score"],
            "chats": r["chats"],
            "avg_first_response_time_seconds": r["avg_first_response_time_seconds"],
            "chatting_time_seconds": r["chatting_time_seconds"],
        }
        for r in chosen
    ]


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
    """Chats per weekday and local hour over the window's days: all 7 x 24 cells."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    cells: dict[tuple[int, int], int] = defaultdict(int)
    for row in rows:
        day = as_date(row["report_date"])
        if day < window_start:
            continue
        hour = dt.datetime.fromtimestamp(float(row["hour_epoch"]), zone).hour
        cells[(day.weekday(), hour)] += int(row["chats"] or 0)
    return [
        {"weekday": WEEKDAYS[d], "weekday_index": d, "hour": h, "chats": cells[(d, h)]}
        for d in range(7)
        for h in range(24)
    ]
