"""Table tests of where reports, and each listed group of a per-group report, resume."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sources.livechat.cursors import (
    GROUP_DAYS_KEY,
    STATE_KEY,
    group_windows,
    record_loaded,
    resumes_from,
)
from sources.livechat.merge import write_disposition
from sources.livechat.reports import REPORTS_BY_NAME
from sources.livechat.settings import Settings, resolve_settings
from sources.livechat.windows import Window

D = dt.date
TODAY = D(2026, 3, 10)
START = D(2026, 3, 1)
BY_GROUP = REPORTS_BY_NAME["chats_total_chats"].by_group()


def settings(**changes: Any) -> Settings:
    options: dict[str, Any] = {
        "account_id": "acme",
        "timezone": "UTC",
        "start_date": START,
        "end_date": None,
        "backfill": False,
        "lookback_days": 3,
        "window_days": 31,
        "distribution": "day",
        "reports": "chats_total_chats",
        "filters": None,
        "today": TODAY,
        "breakdowns": ["group"],
        "breakdown_groups": "0,1,2",
        **changes,
    }
    return resolve_settings(**options)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({}, [(Window(START, TODAY), (0, 1, 2))]),  # never loaded: every group from start
        # loaded before groups had days of their own: every group from the report's day
        ({STATE_KEY: "2026-03-08"}, [(Window(D(2026, 3, 5), TODAY), (0, 1, 2))]),
        (  # group 1 was added to the list: it alone starts at start_date
            {STATE_KEY: "2026-03-08", GROUP_DAYS_KEY: {"0": "2026-03-08", "2": "2026-03-08"}},
            [(Window(D(2026, 3, 5), TODAY), (0, 2)), (Window(START, TODAY), (1,))],
        ),
        (  # one group further behind than the others (it was left out for a while)
            {GROUP_DAYS_KEY: {"0": "2026-03-09", "1": "2026-03-09", "2": "2026-03-04"}},
            [(Window(D(2026, 3, 6), TODAY), (0, 1)), (Window(D(2026, 3, 1), TODAY), (2,))],
        ),
    ],
)
def test_group_windows(state: dict[str, Any], expected: list[Any]) -> None:
    assert group_windows(settings(), state, (0, 1, 2)) == expected


def test_a_backfill_loads_every_group_over_its_range() -> None:
    state = {GROUP_DAYS_KEY: {"0": "2026-03-09"}}
    ranged = settings(backfill=True, start_date=D(2026, 3, 2), end_date=D(2026, 3, 4))
    assert group_windows(ranged, state, (0, 1)) == [(Window(D(2026, 3, 2), D(2026, 3, 4)), (0, 1))]


def test_resumes_from_the_earliest_group() -> None:
    assert resumes_from({}) is None
    assert resumes_from({STATE_KEY: "2026-03-08"}) == "2026-03-08"
    days = {"0": "2026-03-08", "1": "2026-03-03"}
    assert resumes_from({STATE_KEY: "2026-03-08", GROUP_DAYS_KEY: days}) == "2026-03-03"


def test_record_loaded_keeps_a_day_per_listed_group() -> None:
    state: dict[str, Any] = {
        STATE_KEY: "2026-03-08",
        GROUP_DAYS_KEY: {"0": "2026-03-08", "2": "2026-03-06"},
    }
    loaded = [(Window(D(2026, 3, 5), TODAY), (0,)), (Window(START, TODAY), (1,))]
    record_loaded(state, settings(), loaded, listed=True)
    # group 2 was left out: its day stays where it was
    assert state == {
        STATE_KEY: "2026-03-10",
        GROUP_DAYS_KEY: {"0": "2026-03-10", "1": "2026-03-10", "2": "2026-03-06"},
    }
    record_loaded(state, settings(), [(Window(START, D(2026, 3, 9)), (0,))], listed=True)
    assert state[GROUP_DAYS_KEY]["0"] == "2026-03-10"  # never moves back
    before = {STATE_KEY: "2026-03-08", GROUP_DAYS_KEY: {"0": "2026-03-08"}}
    unchanged = {**before, GROUP_DAYS_KEY: dict(before[GROUP_DAYS_KEY])}
    record_loaded(unchanged, settings(backfill=True), loaded, listed=True)
    assert unchanged == before  # a backfill records nothing
    refreshed = dict(before)
    record_loaded(refreshed, settings(refresh=True), [(Window(START, TODAY), (1,))], listed=True)
    assert refreshed == {STATE_KEY: "2026-03-10", GROUP_DAYS_KEY: {"1": "2026-03-10"}}
    found = {STATE_KEY: "2026-03-08", GROUP_DAYS_KEY: {"0": "2026-03-08"}}
    record_loaded(found, settings(), [(Window(START, TODAY), ())], listed=False)
    assert found == {STATE_KEY: "2026-03-10"}  # every group with chats loaded from then on


def test_a_listed_groups_merge_replaces_only_the_groups_loaded() -> None:
    table = BY_GROUP.tables[0]
    loaded = [(Window(D(2026, 3, 7), TODAY), (0, 2)), (Window(START, TODAY), (1,))]
    scope = write_disposition(BY_GROUP, table, settings(), loaded)["destination_scope"]  # type: ignore[index]
    assert scope == (
        "{table}.account_id = 'acme' AND (({table}.group_id IN ('0', '2')"
        " AND {table}.report_date >= DATE '2026-03-07' AND {table}.report_date <= DATE"
        " '2026-03-10') OR ({table}.group_id IN ('1') AND {table}.report_date >= DATE"
        " '2026-03-01' AND {table}.report_date <= DATE '2026-03-10'))"
    )
    whole = [(Window(D(2026, 3, 7), TODAY), ())]
    scope = write_disposition(BY_GROUP, table, settings(), whole)["destination_scope"]  # type: ignore[index]
    assert scope == (
        "{table}.account_id = 'acme' AND {table}.report_date >= DATE '2026-03-07'"
        " AND {table}.report_date <= DATE '2026-03-10'"
    )
    refresh = write_disposition(BY_GROUP, table, settings(refresh=True), loaded)
    assert refresh["destination_scope"] == "{table}.account_id = 'acme'"  # type: ignore[index]
