"""Pure: which days a report loads in a run, from where its earlier runs left it.

A report resumes from its last loaded day (`last_loaded_day` in its dlt resource state). A
per-group report whose groups are listed (`breakdown_groups`) also keeps a last loaded day for
each group, because the list can change between runs: a group added to it has no rows yet and
loads from `start_date`, while the groups loaded before resume from their own day. A group
left out keeps its rows and stops growing, like a report left out of `reports`. Without that,
an added group would hold only the days loaded after it was added, and its weeks would read
as whole weeks with a fraction of their chats.

When the groups are found with chats/groups instead, every group with chats in the run's days
is loaded for all of them, so one cursor serves them all; it resumes from the earliest group's
day if groups were listed before.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .settings import Settings
from .windows import Window, plan_range

STATE_KEY = "last_loaded_day"
GROUP_DAYS_KEY = "group_last_loaded_days"


def run_window(settings: Settings, last_loaded: str | None) -> Window | None:
    """Return the days a report loads in this run, from its last loaded day (None: nothing)."""
    if settings.backfill or settings.refresh:
        return Window(settings.start_date, settings.end_date)
    return plan_range(
        start_date=settings.start_date,
        end_date=settings.end_date,
        last_loaded=dt.date.fromisoformat(last_loaded) if last_loaded else None,
        lookback_days=settings.lookback_days,
    )


def resumes_from(resource_state: Mapping[str, Any]) -> str | None:
    """Return the last loaded day a report's next run counts from, for all its groups at once.

    That is the report's own day, or, when its groups were listed, the earliest of theirs, so
    that a run which loads every group at once leaves none of them with a gap.
    """
    group_days = resource_state.get(GROUP_DAYS_KEY)
    if group_days:
        return str(min(group_days.values()))
    last = resource_state.get(STATE_KEY)
    return str(last) if last else None


def group_windows(
    settings: Settings, resource_state: Mapping[str, Any], groups: Sequence[int]
) -> list[tuple[Window, tuple[int, ...]]]:
    """Return the days each listed group of a per-group report loads, groups of equal days together.

    A group with a day of its own resumes from it; one without starts at `start_date`. A report
    loaded before groups had days of their own (found with chats/groups, or by an older
    version) resumes every group from the report's day: the groups it found then are the groups
    with chats, and every other group had no rows to load.

    Args:
        settings: The run's settings.
        resource_state: The per-group report's dlt resource state.
        groups: The groups this run loads, in order.

    Returns:
        (days, groups) pairs in the order of their first group; a group with nothing to
        load is left out.
    """
    recorded = resource_state.get(GROUP_DAYS_KEY)
    together: dict[Window, list[int]] = {}
    for group in groups:
        last = resource_state.get(STATE_KEY) if recorded is None else recorded.get(str(group))
        window = run_window(settings, str(last) if last else None)
        if window is not None:
            together.setdefault(window, []).append(group)
    return [(window, tuple(members)) for window, members in together.items()]


def record_loaded(
    resource_state: dict[str, Any],
    settings: Settings,
    loaded: Sequence[tuple[Window, Sequence[int]]],
    listed: bool,
) -> None:
    """Record the days a run loaded in a report's resource state (committed with its rows).

    Args:
        resource_state: The report's dlt resource state, updated in place.
        settings: The run's settings (a backfill records nothing; a refresh starts anew).
        loaded: The days loaded, and for a per-group report whose groups are listed, the groups.
        listed: Whether the groups were listed; otherwise the per-group days are dropped, as
            the run loaded every group with chats from the earliest of them.
    """
    if settings.backfill and not settings.refresh:
        return
    last = str(max(window.last for window, _ in loaded))
    previous = resource_state.get(STATE_KEY)
    if settings.refresh or previous is None:
        resource_state[STATE_KEY] = last
    else:
        resource_state[STATE_KEY] = max(str(previous), last)
    if not listed:
        resource_state.pop(GROUP_DAYS_KEY, None)
        return
    days: dict[str, str] = (
        {} if settings.refresh else dict(resource_state.get(GROUP_DAYS_KEY) or {})
    )
    for window, groups in loaded:
        for group in groups:
            before = days.get(str(group))
            days[str(group)] = str(window.last) if before is None else max(before, str(window.last))
    resource_state[GROUP_DAYS_KEY] = days


# Each account's cursors, one row per account and report, replaced by every load that moves
# them and committed with that load's rows; any pipeline writing the dataset reads them, so an
# account keeps its days whatever shard (pipeline) loads it next.
CURSORS_TABLE = "account_cursors"
CURSORS_KEY = ("account_id", "report")
CURSORS_COLUMNS: dict[str, Any] = {
    name: {"data_type": data_type, "nullable": name not in CURSORS_KEY}
    for name, data_type in (
        ("account_id", "text"),
        ("report", "text"),
        ("last_loaded_day", "date"),
        ("group_last_loaded_days", "text"),
    )
}


def cursor_row(account_id: str, report: str, resource_state: Mapping[str, Any]) -> dict[str, Any]:
    """Return the `account_cursors` row of one account's report after a run."""
    group_days = resource_state.get(GROUP_DAYS_KEY)
    last = resource_state.get(STATE_KEY)
    return {
        "account_id": account_id,
        "report": report,
        "last_loaded_day": dt.date.fromisoformat(str(last)) if last else None,
        "group_last_loaded_days": (
            json.dumps(group_days, sort_keys=True, separators=(",", ":"))
            if group_days is not None
            else None
        ),
    }


def state_of(last_loaded_day: Any, group_last_loaded_days: str | None) -> dict[str, Any]:
    """Return a report's cursor state from its `account_cursors` row (see `cursor_row`)."""
    state: dict[str, Any] = {}
    if last_loaded_day:
        state[STATE_KEY] = str(last_loaded_day)[:10]
    if group_last_loaded_days:
        state[GROUP_DAYS_KEY] = {
            str(k): str(v) for k, v in json.loads(group_last_loaded_days).items()
        }
    return state
