"""What the page must show, computed here from the marts (the oracle of the dashboard tests).

The formatting is written out again on purpose, from the README's description of the page,
rather than imported from the code under test.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tests.dashboard.conftest import Loaded

KPI_TILES = {  # tile -> (kpi mart column, how it is written); None: computed here
    "total_chats": ("total_chats", "count"),
    "missed_chats": ("missed_chats", "count"),
    "missed_chat_rate": ("missed_chat_rate", "rate"),
    "satisfaction_rate": ("satisfaction_rate", "rate"),
    "avg_first_response_time_seconds": ("avg_first_response_time_seconds", "seconds"),
    "avg_response_time_seconds": ("avg_response_time_seconds", "seconds"),
    "avg_chat_duration_seconds": ("avg_chat_duration_seconds", "seconds"),
    "unique_visitors": ("unique_visitors", "count"),
    "queued_visitors": (None, "count"),
    "queue_abandonment_rate": (None, "rate"),
    "avg_queue_wait_seconds": (None, "seconds"),
    "available_hours": ("available_hours", "hours"),
}
GROUP_TILES = {  # a group's tiles, from kpi_weekly_by_group / kpi_monthly_by_group
    name: KPI_TILES[name]
    for name in (
        "total_chats",
        "missed_chats",
        "missed_chat_rate",
        "satisfaction_rate",
        "avg_first_response_time_seconds",
    )
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
        "select sum(queued_visitors) as queued, sum(left_queue_visitors) as left_,"
        " sum(queued_avg_seconds * queued_visitors) / sum(case when queued_avg_seconds is not"
        " null then queued_visitors end) as wait"
        " from lr.stg_livechat__chats_queued_visitors"
        " where account_id = ? and report_date between ? and ?",
        account, start, end,
    )  # fmt: skip
    values = {tile: row[col] for tile, (col, _) in KPI_TILES.items() if col}
    values["queued_visitors"] = int(queues["queued"] or 0)
    values["queue_abandonment_rate"] = (
        queues["left_"] / queues["queued"] if queues["queued"] else None
    )
    values["avg_queue_wait_seconds"] = queues["wait"]
    values["is_partial_period"] = row["is_partial_period"]
    return values


def weeks(loaded: Loaded, account: str, since: dt.date) -> list[dict[str, Any]]:
    """kpi_weekly rows of the weeks that end on or after `since`."""
    return loaded.query(
        "select * from lr.kpi_weekly where account_id = ? and week_start + 6 >= ?"
        " order by week_start",
        account, since,
    )  # fmt: skip


def days_complete(loaded: Loaded, account: str) -> dict[dt.date, int]:
    """Complete days in kpi_daily per week (by week start): the ones not flagged partial."""
    rows = loaded.query(
        "select date_trunc('week', report_date)::date as week_start, count(*) as n"
        " from lr.kpi_daily where account_id = ? and not is_partial_period group by all",
        account,
    )
    return {r["week_start"]: int(r["n"]) for r in rows}


def group_period_values(
    loaded: Loaded, account: str, group: int, grain: str, start: dt.date
) -> dict[str, Any]:
    """A group's tiles' values of one week or month, straight from the `*_by_group` marts."""
    column = "week_start" if grain == "week" else "month_start"
    view = "kpi_weekly_by_group" if grain == "week" else "kpi_monthly_by_group"
    [row] = loaded.query(
        f"select * from lr.{view} where account_id = ? and group_id = ? and {column} = ?",
        account, group, start,
    )  # fmt: skip
    return {tile: row[col] for tile, (col, _) in GROUP_TILES.items()}


def heatmap(
    loaded: Loaded, account: str, timezone: str, since: dt.date
) -> dict[tuple[str, int], tuple[int, int]]:
    """(Chats, loaded days of the weekday) per (weekday, local hour) of the hourly rows, in SQL.

    A loaded day has a row for every hour (zeros too); its weekday is its local report_date's.
    """
    rows = loaded.query(
        "with hourly as (select report_date, report_hour, total from lr.chats_total_chats"
        " where account_id = ? and report_hour is not null and report_date >= ?),"
        " days as (select isodow(report_date) as dow, count(distinct report_date) as n"
        " from hourly group by all)"
        " select isodow(report_date) as dow,"
        f" hour(timezone('{timezone}', report_hour)) as hour, coalesce(sum(total), 0) as chats,"
        " any_value(days.n) as days"
        " from hourly join days on days.dow = isodow(hourly.report_date)"
        " group by all",
        account, since,
    )  # fmt: skip
    return {(WEEKDAYS[r["dow"] - 1], r["hour"]): (int(r["chats"]), int(r["days"])) for r in rows}


def local_midnight(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00"


WEIGHTED = {  # average -> the int_kpi_daily count it is over
    "avg_first_response_time_seconds": "first_response_time_chats",
    "avg_response_time_seconds": "response_time_chats",
    "avg_chat_duration_seconds": "chat_duration_chats",
}


def all_accounts_values(
    loaded: Loaded, accounts: list[str], grain: str, start: dt.date
) -> dict[str, Any]:
    """The all-accounts tiles of one period: sums, and rates of the summed parts.

    Each account's row comes from its kpi mart; averages are weighted by the chats they are
    over (int_kpi_daily's counts over the period's days), rates are ratios of summed counts.
    """
    column = "week_start" if grain == "week" else "month_start"
    view = "kpi_weekly" if grain == "week" else "kpi_monthly"
    end = period_end(grain, start)
    rows = []
    for account in accounts:
        [row] = loaded.query(
            f"select * from lr.{view} where account_id = ? and {column} = ?", account, start
        )
        [counts] = loaded.query(
            "select " + ", ".join(f"sum({c}) as {c}" for c in WEIGHTED.values())
            + " from lr.int_kpi_daily where account_id = ? and report_date between ? and ?",
            account, start, end,
        )  # fmt: skip
        rows.append({**row, **counts})

    def total(column: str) -> Any:
        return sum(r[column] for r in rows)

    values: dict[str, Any] = {
        name: total(name)
        for name in ("total_chats", "missed_chats", "unique_visitors", "available_hours")
    }
    values["missed_chat_rate"] = total("missed_chats") / total("total_chats")
    good, bad = total("chats_rated_good"), total("chats_rated_bad")
    values["satisfaction_rate"] = good / (good + bad)
    for average, weight in WEIGHTED.items():
        values[average] = sum(r[average] * r[weight] for r in rows) / total(weight)
    [queues] = loaded.query(
        "select sum(queued_visitors) as queued, sum(left_queue_visitors) as left_,"
        " sum(queued_avg_seconds * queued_visitors) / sum(case when queued_avg_seconds is not"
        " null then queued_visitors end) as wait"
        " from lr.stg_livechat__chats_queued_visitors where report_date between ? and ?",
        start, end,
    )  # fmt: skip
    values["queued_visitors"] = int(queues["queued"])
    values["queue_abandonment_rate"] = queues["left_"] / queues["queued"]
    values["avg_queue_wait_seconds"] = queues["wait"]
    values["is_partial_period"] = any(r["is_partial_period"] for r in rows)
    return values


def period_end(grain: str, start: dt.date) -> dt.date:
    if grain == "week":
        return start + dt.timedelta(days=6)
    return (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
