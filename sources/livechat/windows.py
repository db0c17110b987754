"""Pure date logic: which days a run loads, how they split into windows, RFC 3339 bounds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True, order=True)
class Window:
    """An inclusive range of whole local days."""

    first: dt.date
    last: dt.date

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise ValueError(f"window starts after it ends: {self.first} > {self.last}")

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}..{self.last}"

    @property
    def days(self) -> list[dt.date]:
        """Every day of the window, in order."""
        return [self.first + dt.timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def bounds(self, timezone: str) -> tuple[str, str]:
        """Return `filters.from` and `filters.to`: 00:00:00 of the first day, 23:59:59 of the last.

        Each side carries its own offset, so a window across a DST change is exact.
        """
        zone = ZoneInfo(timezone)
        start = dt.datetime.combine(self.first, dt.time(0, 0, 0), zone)
        end = dt.datetime.combine(self.last, dt.time(23, 59, 59), zone)
        return start.isoformat(), end.isoformat()


def plan_range(
    *,
    start_date: dt.date,
    end_date: dt.date,
    last_loaded: dt.date | None,
    lookback_days: int,
) -> Window | None:
    """Return the days an incremental run loads, or None when there is nothing to load.

    The first run starts at `start_date`; later runs re-fetch `lookback_days` before the last
    loaded day (ratings and late chats change recent days), never earlier than `start_date`.

    Args:
        start_date: The first day the pipeline ever loads.
        end_date: The last day to load (usually today).
        last_loaded: The last day a successful run loaded, if any.
        lookback_days: Days before `last_loaded` to load again.
    """
    first = start_date
    if last_loaded is not None:
        first = max(start_date, last_loaded - dt.timedelta(days=lookback_days))
    if first > end_date:
        return None
    return Window(first, end_date)


def split(window: Window, days: int) -> list[Window]:
    """Split a window into consecutive windows of at most `days` days."""
    if days < 1:
        raise ValueError(f"window size must be positive; got {days}")
    parts = []
    first = window.first
    while first <= window.last:
        last = min(window.last, first + dt.timedelta(days=days - 1))
        parts.append(Window(first, last))
        first = last + dt.timedelta(days=1)
    return parts


@dataclass(frozen=True)
class Period:
    """An ISO week (Monday..Sunday) or a calendar month."""

    kind: str  # "week" or "month"
    window: Window


def periods_touching(window: Window) -> list[Period]:
    """Return every ISO week and calendar month that shares a day with `window`, in order."""
    weeks = []
    monday = window.first - dt.timedelta(days=window.first.weekday())
    while monday <= window.last:
        weeks.append(Period("week", Window(monday, monday + dt.timedelta(days=6))))
        monday += dt.timedelta(days=7)
    months = []
    first = window.first.replace(day=1)
    while first <= window.last:
        following = (first + dt.timedelta(days=32)).replace(day=1)
        months.append(Period("month", Window(first, following - dt.timedelta(days=1))))
        first = following
    return weeks + months


def today_in(timezone: str, now: dt.datetime) -> dt.date:
    """Return the local date of an aware instant in `timezone`."""
    return now.astimezone(ZoneInfo(timezone)).date()
