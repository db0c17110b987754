"""Table tests of a report's run plan: the days it loads, per listed group, and its requests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sources.livechat.cursors import GROUP_DAYS_KEY, STATE_KEY
from sources.livechat.plan import Request, RunPlan, plan_requests, plan_run
from sources.livechat.reports import REPORTS_BY_NAME
from sources.livechat.windows import Window
from tests.source.test_cursors import START, TODAY, settings

D = dt.date
TOTAL = REPORTS_BY_NAME["chats_total_chats"]
RANKING = REPORTS_BY_NAME["chats_ranking"]


@pytest.mark.parametrize(
    ("spec", "options", "state", "expected"),
    [
        # the account's report: from start_date, then from the last day less the lookback
        (TOTAL, {}, {}, RunPlan(Window(START, TODAY))),
        (TOTAL, {}, {STATE_KEY: "2026-03-09"}, RunPlan(Window(D(2026, 3, 6), TODAY))),
        # a backfill loads its range whatever the state says
        (
            TOTAL,
            {"backfill": True, "start_date": D(2026, 2, 1), "end_date": D(2026, 2, 3)},
            {STATE_KEY: "2026-03-09"},
            RunPlan(Window(D(2026, 2, 1), D(2026, 2, 3))),
        ),
        # listed groups: each its own days, the window their union
        (
            TOTAL.by_group(),
            {},
            {GROUP_DAYS_KEY: {"0": "2026-03-09", "1": "2026-03-09"}},
            RunPlan(
                Window(START, TODAY),
                ((Window(D(2026, 3, 6), TODAY), (0, 1)), (Window(START, TODAY), (2,))),
            ),
        ),
        # groups found with chats/groups (not listed): one window for all
        (TOTAL.by_group(), {"breakdown_groups": None}, {}, RunPlan(Window(START, TODAY))),
    ],
)
def test_plan_run(
    spec: Any, options: dict[str, Any], state: dict[str, Any], expected: RunPlan
) -> None:
    plan = plan_run(spec, settings(**options), state)
    assert plan == expected
    assert plan is not None and plan.listed is bool(expected.spans)
    assert plan.replaced == (expected.spans or ((expected.window, ()),))


def test_a_report_loaded_past_end_date_has_nothing_to_plan() -> None:
    # loaded through the 9th; an end_date before the 9th's lookback asks for nothing
    assert plan_run(TOTAL, settings(end_date=D(2026, 3, 5)), {STATE_KEY: "2026-03-09"}) is None


def test_requests_follow_the_kind_of_report() -> None:
    window = Window(D(2026, 1, 30), D(2026, 3, 2))
    # a series: windows of window_days; a range report: one request a day
    assert plan_requests(TOTAL, window, 31) == [
        Request(Window(D(2026, 1, 30), D(2026, 3, 1))),
        Request(Window(D(2026, 3, 2), D(2026, 3, 2))),
    ]
    assert len(plan_requests(RANKING, window, 31)) == 32
    # per group: the same requests once per group
    assert plan_requests(TOTAL.by_group(), window, 31, [4, 7]) == [
        Request(Window(D(2026, 1, 30), D(2026, 3, 1)), group=4),
        Request(Window(D(2026, 1, 30), D(2026, 3, 1)), group=7),
        Request(Window(D(2026, 3, 2), D(2026, 3, 2)), group=4),
        Request(Window(D(2026, 3, 2), D(2026, 3, 2)), group=7),
    ]
