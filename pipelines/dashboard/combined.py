"""The all-accounts view: every account's weeks and months added up.

Counts are summed. Rates are ratios of the summed parts (all good ratings over all ratings, all
missed chats over all chats, all customers who left the queue over all who queued), never an
average of the accounts' rates; averages are weighted by the chats (or queued customers) each
account's average is over. A period is partial when it is partial for any account, or when an
account has no row for it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .model import AccountView, week_series
from .periods import WEIGHTS, Comparison, Period, choices, month_end, months_back, week_end

SUMS = (
    "total_chats",
    "missed_chats",
    "unique_visitors",
    "queued_visitors",
    "left_queue_visitors",
    "available_hours",
    "chats_rated_good",
    "chats_rated_bad",
    *WEIGHTS,
    "queue_wait_customers",
    "queue_wait_seconds",
)
AVERAGES = {  # average -> the count it is weighted by
    "avg_first_response_time_seconds": "first_response_time_chats",
    "avg_response_time_seconds": "response_time_chats",
    "avg_chat_duration_seconds": "chat_duration_chats",
}


@dataclass
class AllAccountsView:
    """The all-accounts part of the page: its periods to pick and its weekly series."""

    accounts: list[str]
    window_start: dt.date
    last_day: dt.date
    week_choices: list[Comparison]
    month_choices: list[Comparison]
    weeks: list[dict[str, Any]]


def _ratio(numerator: Any, denominator: Any) -> float | None:
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)


def _summed(periods: list[Period], column: str) -> Any:
    found = [p.values.get(column) for p in periods]
    present = [v for v in found if v is not None]
    return sum(present) if present else None


def combine(per_account: list[list[Period]], end_of: Callable[[dt.date], dt.date]) -> list[Period]:
    """One period per period start of any account, its values added up over the accounts."""
    by_start: dict[dt.date, list[Period]] = defaultdict(list)
    for periods in per_account:
        for period in periods:
            by_start[period.start].append(period)
    combined = []
    for start in sorted(by_start):
        group = by_start[start]
        values: dict[str, Any] = {c: _summed(group, c) for c in SUMS}
        values["missed_chat_rate"] = _ratio(values["missed_chats"], values["total_chats"])
        rated = (values["chats_rated_good"] or 0) + (values["chats_rated_bad"] or 0)
        values["satisfaction_rate"] = _ratio(values["chats_rated_good"], rated)
        values["queue_abandonment_rate"] = _ratio(
            values["left_queue_visitors"], values["queued_visitors"]
        )
        values["avg_queue_wait_seconds"] = _ratio(
            values["queue_wait_seconds"], values["queue_wait_customers"]
        )
        for average, weight in AVERAGES.items():
            pairs = [
                (p.values[average], p.values[weight])
                for p in group
                if p.values.get(average) is not None and p.values.get(weight)
            ]
            total = sum(w for _, w in pairs)
            values[average] = sum(a * w for a, w in pairs) / total if total else None
        partial = len(group) < len(per_account) or any(p.partial for p in group)
        loaded = min(p.days_complete for p in group) if len(group) == len(per_account) else 0
        combined.append(Period(start, end_of(start), partial, values, loaded))
    return combined


def all_accounts_view(views: list[AccountView]) -> AllAccountsView:
    """Add up the accounts' periods (the views in their page order)."""
    since = min(v.window_start for v in views)
    weeks = combine([v.week_periods for v in views], week_end)
    months_ = combine([v.month_periods for v in views], month_end)
    return AllAccountsView(
        accounts=[v.account_id for v in views],
        window_start=since,
        last_day=max(v.last_day for v in views),
        week_choices=choices("week", weeks, lambda s: s - dt.timedelta(days=7), since),
        month_choices=choices("month", months_, lambda s: months_back(s, 1), since),
        weeks=week_series(weeks, since),
    )
