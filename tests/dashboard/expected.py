"""What the page must show, computed here from the marts (the oracle of the dashboard tests).

The formatting is written out again on purpose, from the README's description of the page,
rather than imported from the code under test.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tests.dashboard.conftest import Loaded

KPI_TILES = {  # tile -> (kpi mart column, how it is written)
    "total_chats": ("total_chats", "count"),
    "satisfaction_rate": ("satisfaction_rate", "rate"),
    "missed_chat_rate": ("missed_chat_rate", "rate"),
    "avg_first_response_time_seconds": ("avg_first_response_time_seconds", "seconds"),
    "avg_response_time_seconds": ("avg_response_time_seconds", "seconds"),
    "avg_chat_duration_seconds": ("avg_chat_duration_seconds", "seconds"),
    "unique_visitors": ("unique_visitors", "count"),
    "queue_abandonment_rate": (None, "rate"),
    "available_hours": ("available_hours", "hours"),
}
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def half_up(value: float, digits: int) -> Decimal:
    """Round the way a browser's toFixed does: an exact half goes away from zero."""
    return Decimal(value).quantize(Decimal(10) ** -digits, rounding=ROUND_HALF_UP)


def written(value: Any, kind: str) -> str:
    """A value as a tile or table cell writes it."""
    if value is None:
        return "–"
    if kind == "count":
        return f"{value:,}"
    if kind == "rate":
        return f"{half_up(100 * value, 1)}%"
    if kind == "hours":
        return f"{half_up(value, 1):,} h"
    if kind == "score":
        return f"{half_up(value, 3)}"
    seconds = int(half_up(value, 0))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def period_values(loaded: Loaded, account: str, grain: str, start: dt.date) -> dict[str, Any]:
    """The tiles' values of one week or month, straight from kpi_weekly / kpi_monthly."""
    column = "week_start" if grain == "week" else "month_start"
    view = "kpi_weekly" if grain == "week" else "kpi_monthly"
    [row] = loaded.query(
        f"select * from lr.{view} where account_id = ? and {column} = ?", account, start
    )
    if grain == "week":
        end = start + dt.timedelta(days=6)
    else:
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    [queues] = loaded.query(
        "select sum(queued_visitors) as queued, sum(left_queue_visitors) as left_"
        " from lr.stg_livechat__chats_queued_visitors"
        " where account_id = ? and report_date between ? and ?",
        account, start, end,
    )  # fmt: skip
    values = {tile: row[col] for tile, (col, _) in KPI_TILES.items() if col}
    values["queue_abandonment_rate"] = queues["left_"] / queues["queued"]
    values["is_partial_period"] = row["is_partial_period"]
    return values


def weeks(loaded: Loaded, account: str, since: dt.date) -> list[dict[str, Any]]:
    """kpi_weekly rows of the weeks that end on or after `since`."""
    return loaded.query(
        "select * from lr.kpi_weekly where account_id = ? and week_start + 6 >= ?"
        " order by week_start",
        account, since,
    )  # fmt: skip


def days_loaded(loaded: Loaded, account: str) -> dict[dt.date, int]:
    """Days in kpi_daily per week (by week start)."""
    rows = loaded.query(
        "select date_trunc('week', report_date)::date as week_start, count(*) as n"
        " from lr.kpi_daily where account_id = ? group by all",
        account,
    )
    return {r["week_start"]: int(r["n"]) for r in rows}


def heatmap(
    loaded: Loaded, account: str, timezone: str, since: dt.date
) -> dict[tuple[str, int], int]:
    """Chats per (weekday, local hour) from the loaded hourly rows, in SQL."""
    rows = loaded.query(
        "select isodow(report_date) as dow,"
        f" hour(timezone('{timezone}', report_hour)) as hour, coalesce(sum(total), 0) as chats"
        " from lr.chats_total_chats"
        " where account_id = ? and report_hour is not null and report_date >= ?"
        " group by all",
        account, since,
    )  # fmt: skip
    return {(WEEKDAYS[r["dow"] - 1], r["hour"]): int(r["chats"]) for r in rows}


def local_midnight(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00"
