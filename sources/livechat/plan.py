"""Pure: what one report asks the API for in a run: its days, its groups, its requests.

Nothing here sends a request or reads a clock: the days come from the settings and the report's
resource state (`cursors`), so a run's plan is a value a unit test can read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .breakdown import allows, request_filters
from .cursors import group_windows, resumes_from, run_window
from .reports import Kind, ReportSpec
from .settings import Settings
from .windows import Period, Window, periods_touching, split


@dataclass(frozen=True)
class Request:
    """One planned request: the days it covers, the period or the group it is for."""

    window: Window
    period: Period | None = None
    group: int | None = None


@dataclass(frozen=True)
class RunPlan:
    """The days one report loads in a run.

    Attributes:
        window: Every day the run loads for the report.
        spans: For a per-group report whose groups are listed, each set of groups with the days
            it loads (a group added to the list loads from `start_date`, the others from their
            own last day); empty otherwise.
    """

    window: Window
    spans: tuple[tuple[Window, tuple[int, ...]], ...] = ()

    @property
    def listed(self) -> bool:
        """Whether the report's groups are listed (each keeps a last loaded day of its own)."""
        return bool(self.spans)

    @property
    def replaced(self) -> Sequence[tuple[Window, Sequence[int]]]:
        """The days the run replaces: (days, groups) pairs, no groups meaning the account's."""
        return self.spans or ((self.window, ()),)


def plan_run(
    spec: ReportSpec, settings: Settings, resource_state: Mapping[str, Any]
) -> RunPlan | None:
    """Return the days a report loads in this run, or None when it has nothing to load.

    Args:
        spec: The report (or its per-group copy).
        settings: The run's settings.
        resource_state: The report's dlt resource state (its last loaded days).
    """
    if spec.group is not None and settings.breakdown_groups is not None:
        groups = [g for g in settings.breakdown_groups if allows(spec, settings.filters, g)]
        spans = group_windows(settings, resource_state, groups)
        if not spans:
            return None
        window = Window(min(w.first for w, _ in spans), max(w.last for w, _ in spans))
        return RunPlan(window, tuple((w, tuple(gs)) for w, gs in spans))
    days = run_window(settings, resumes_from(resource_state))
    return RunPlan(days) if days is not None else None


def plan_requests(
    spec: ReportSpec, window: Window, window_days: int, groups: Sequence[int] = ()
) -> list[Request]:
    """Return the requests that load `window` for a report: the fewest its kind allows.

    A per-group report (`spec.group`) makes the same requests once for each of `groups`.
    """
    if spec.kind is Kind.SERIES:
        plan = [Request(w) for w in split(window, window_days)]
    elif spec.kind is Kind.PERIOD:
        plan = [Request(p.window, p) for p in periods_touching(window)]
    else:
        plan = [Request(Window(day, day)) for day in window.days]
    if spec.group is None:
        return plan
    return [replace(r, group=g) for r in plan for g in groups]


def request_body(
    spec: ReportSpec, settings: Settings, window: Window, group: int | None = None
) -> dict[str, Any]:
    """Build the JSON body of one request (for one group of a per-group report)."""
    start, end = window.bounds(settings.timezone)
    filters = request_filters(spec, settings.filters, group)
    if spec.time_filter == "greetings":
        filters["greetings"] = {**filters.get("greetings", {}), "from": start, "to": end}
    else:
        filters.update({"from": start, "to": end})
    body: dict[str, Any] = {"timezone": settings.timezone, "filters": filters}
    if spec.kind is Kind.SERIES:
        body["distribution"] = settings.distribution if spec.hourly else "day"
    return body
