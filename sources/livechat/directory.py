"""The groups with chats on each day of a run, asked from chats/groups once for every report."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
from collections.abc import Mapping
from typing import Any

from .client import LiveChatClient
from .cursors import group_windows, resumes_from, run_window
from .fetch import fetch
from .flatten import Row
from .plan import plan_requests
from .progress import Progress
from .reports import GROUP_KEY, REPORTS_BY_NAME, TableSpec
from .settings import Settings
from .windows import Window

logger = logging.getLogger("livechat_reports")

GROUPS_REPORT = REPORTS_BY_NAME["chats_groups"]


def has_data(row: Row, table: TableSpec) -> bool:
    """Whether a row of a group's answer holds anything but an empty bucket.

    Series answers have a bucket for every requested day, empty (`{}`, or zeros such as
    `{"hours": 0}`) when nothing happened. Rows with a dimension (a tag, an agent, a form)
    exist only where the API names one, so they always hold something.
    """
    if table.dimensions:
        return True
    keys = ("account_id", GROUP_KEY, "report_date", "report_hour")
    return any(
        isinstance(value, (int, float)) and not isinstance(value, bool) and value != 0
        for name, value in row.items()
        if name not in keys
    )


class GroupDirectory:
    """The groups with chats on each day of the run, asked from chats/groups once per run.

    The chats_groups report and every per-group report share it: the first that needs it asks
    chats/groups for the union of their days (the same requests chats_groups would make for
    itself in a backfill), and chats_groups takes its rows from those answers instead of asking
    again. Each request is counted and recorded in the lineage once, by the report that made
    it. It runs in the thread that runs the resources, so the client's pool never waits on
    itself.

    It serves the breakdown whether its groups are found or listed: a group's rows of a day
    on which chats/groups counts no chat of it are stored only when they hold data (see
    `keeps`), so a listed id that is no group of the account stores nothing.
    """

    def __init__(self, settings: Settings, client: LiveChatClient, progress: Progress) -> None:
        self._settings = settings
        self._client = client
        self._progress = progress
        self._lock = threading.Lock()
        self._rows: list[Row] | None = None
        self._groups: dict[dt.date, set[int]] = {}

    def _users(self) -> list[str]:
        selected = GROUPS_REPORT in self._settings.reports
        return [
            *([GROUPS_REPORT.name] if selected else []),
            *(s.name for s in self._settings.grouped),
        ]

    def _days(self, name: str, resources: Mapping[str, Any]) -> list[Window]:
        """The days a user of the directory loads (each listed group's own, when listed)."""
        state = resources.get(name, {})
        listed = self._settings.breakdown_groups
        if name != GROUPS_REPORT.name and listed is not None:
            return [window for window, _ in group_windows(self._settings, state, listed)]
        window = run_window(self._settings, resumes_from(state))
        return [window] if window else []

    def _ask(self, resources: Mapping[str, Any]) -> list[Row]:
        """Ask chats/groups for every day a user of the directory loads; return the lineage."""
        with self._lock:
            if self._rows is not None:
                return []
            windows = [w for name in self._users() for w in self._days(name, resources)]
            if not windows:
                self._rows = []
                return []
            days = Window(min(w.first for w in windows), max(w.last for w in windows))
            requests = plan_requests(GROUPS_REPORT, days, self._settings.window_days)
            self._progress.planned(GROUPS_REPORT.name, len(requests))
            settings, client, progress = self._settings, self._client, self._progress
            jobs = [
                functools.partial(fetch, GROUPS_REPORT, settings, client, r, progress)
                for r in requests
            ]
            rows: list[Row] = []
            lineage: list[Row] = []
            for tables, records in client.map_ordered(jobs):
                rows.extend(tables[GROUPS_REPORT.name])
                lineage.extend(records)
            self._rows = rows  # only once every answer is in
            for row in rows:
                if row.get("chats"):
                    self._groups.setdefault(row["report_date"], set()).add(int(row["group_id"]))
            logger.info(
                "chats/groups: %d requests for %s (groups of the run's days)", len(requests), days
            )
            return lineage

    def prepare(self, resources: Mapping[str, Any]) -> list[Row]:
        """Ask chats/groups if no report has yet; return the lineage to record (once)."""
        return self._ask(resources)

    def keeps(self, row: Row, table: TableSpec) -> bool:
        """Whether a row of a per-group table is stored (call after `prepare` or `groups`).

        A group's rows of a day it had chats on are all stored, empty buckets included: they
        say the day was loaded and its missed chats, ratings, ... were none. On a day without
        its chats only rows that hold data are (available hours, an agent's logged-in time):
        stored empty, a group without chats, or an id that is no group of the account, would
        read as a team with 0 chats that day.
        """
        group = int(row[GROUP_KEY])
        return group in self._groups.get(row["report_date"], ()) or has_data(row, table)

    def groups(self, window: Window, resources: Mapping[str, Any]) -> tuple[list[int], list[Row]]:
        """Return the groups with chats on any day of `window`, and the lineage to record."""
        lineage = self._ask(resources)
        found: set[int] = set()
        for day in window.days:
            found |= self._groups.get(day, set())
        return sorted(found), lineage

    def rows(self, window: Window, resources: Mapping[str, Any]) -> tuple[list[Row], list[Row]]:
        """Return chats_groups' rows for `window`, and the lineage to record."""
        lineage = self._ask(resources)
        rows = [r for r in self._rows or [] if window.first <= r["report_date"] <= window.last]
        return rows, lineage
