"""Incremental runs: the clock moves, recent days are corrected, reruns and overlaps are idempotent."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from sources.livechat.exceptions import LiveChatAPIError
from sources.livechat.reports import REPORTS
from sources.livechat.windows import Window
from sources.livechat_emulator import Switches
from tests.e2e.conftest import Loader, at
from tests.e2e.oracle import assert_table_matches, expected, loaded

DAY_TABLES = sorted(
    t.name for r in REPORTS for t in r.tables if t.name != "customers_unique_visitors_by_period"
)
SOME = [
    "chats_tags",
    "chats_ratings",
    "chats_ranking",
    "chats_greetings_conversion",
    "chats_forms",
    "chats_queued_visitors_left",
]
SOME_TABLES = [
    "chats_tags",
    "chats_ratings",
    "chats_ranking",
    "chats_greetings_conversion",
    "chats_forms",
    "chats_form_answers",
    "chats_queued_visitors_left",
]


def snapshot(loader: Loader) -> dict[str, list[tuple[Any, ...]]]:
    """Every data table's rows without dlt's columns, sorted: what a user would query."""
    tables = [
        r["table_name"]
        for r in loader.query(
            "select table_name from information_schema.tables where table_schema = 'livechat_reports'"
            " and table_type = 'BASE TABLE'"
        )
        if not r["table_name"].startswith("_dlt")
        and r["table_name"] not in ("report_requests", "account_loads")
    ]
    result = {}
    for table in sorted(tables):
        rows = loader.query(f"select * from lr.{table}")
        result[table] = sorted(
            (
                tuple(sorted((k, v) for k, v in row.items() if not k.startswith("_dlt")))
                for row in rows
            ),
            key=repr,
        )
    return result


def test_runs_follow_the_clock_and_correct_recent_days(make_emulator: Any, tmp_path: Path) -> None:
    day1 = dt.date(2026, 11, 10)
    emulator = make_emulator(now=at(day1, 12))
    loader = Loader(emulator, tmp_path / "lc.duckdb")
    loader.run(day1, start_date=day1 - dt.timedelta(days=6))
    assert set(loader.state().values()) == {"2026-11-10"}
    before = loaded(loader, "chats_ratings")[(day1,)]

    day3 = day1 + dt.timedelta(days=2)
    emulator.api.now = at(day3, 12)
    emulator.stats.reset()
    loader.run(day3)
    assert set(loader.state().values()) == {"2026-11-12"}
    # the second run re-fetched lookback_days (3) before the last loaded day, through today
    requested = {
        r["window_from"]
        for r in loader.query(
            "select distinct window_from from lr.report_requests where report = 'chats/ranking'"
            " and _dlt_load_id = (select max(_dlt_load_id) from lr.report_requests)"
        )
    }
    assert min(requested) == day1 - dt.timedelta(days=3) and max(requested) == day3
    # the partial day1 was corrected: more chats and ratings than at noon
    after = loaded(loader, "chats_ratings")[(day1,)]
    assert after["chats"] > before["chats"]
    days = Window(day1 - dt.timedelta(days=6), day3).days
    for table in DAY_TABLES:
        assert_table_matches(loaded(loader, table), expected(emulator, table, days, "UTC"), table)


def test_the_same_run_twice_leaves_identical_tables(
    make_emulator: Any, tmp_path: Path, destination: str | None
) -> None:
    today = dt.date(2026, 11, 10)
    emulator = make_emulator(now=at(today, 18))
    loader = Loader(emulator, tmp_path / "lc.duckdb", postgres=destination)
    loader.run(today, start_date=today - dt.timedelta(days=5))
    first = snapshot(loader)
    loader.run(today)
    assert snapshot(loader) == first
    assert len(first) == 21 and sum(len(rows) for rows in first.values()) > 300


def test_overlapping_backfills_never_duplicate_and_leave_the_state(
    make_emulator: Any, tmp_path: Path
) -> None:
    emulator = make_emulator(now=at(dt.date(2026, 11, 18), 12))
    loader = Loader(emulator, tmp_path / "lc.duckdb")
    today = dt.date(2026, 11, 18)
    loader.run(
        today,
        start_date=dt.date(2026, 10, 1),
        end_date=dt.date(2026, 10, 8),
        backfill=True,
        reports=SOME,
    )
    loader.run(
        today,
        start_date=dt.date(2026, 10, 5),
        end_date=dt.date(2026, 10, 12),
        backfill=True,
        reports=SOME,
    )
    assert loader.state() == {}
    days = Window(dt.date(2026, 10, 1), dt.date(2026, 10, 12)).days
    for table in SOME_TABLES:
        assert_table_matches(loaded(loader, table), expected(emulator, table, days, "UTC"), table)


def test_vanished_dimensions_and_emptied_days_are_replaced(
    make_emulator: Any, tmp_path: Path, destination: str | None
) -> None:
    today = dt.date(2026, 11, 18)
    first, last = dt.date(2026, 10, 1), dt.date(2026, 10, 10)
    loader = Loader(
        make_emulator(now=at(today), seed=1), tmp_path / "lc.duckdb", postgres=destination
    )
    loader.run(today, start_date=first, end_date=last, backfill=True)
    # The account's history changes: another license whose data starts on 2026-10-06.
    changed = make_emulator(now=at(today), seed=2, license_start=dt.date(2026, 10, 6))
    loader.emulator = changed
    loader.run(today, start_date=first, end_date=last, backfill=True, base_url=changed.url)
    days = Window(first, last).days
    for table in DAY_TABLES:
        assert_table_matches(loaded(loader, table), expected(changed, table, days, "UTC"), table)
    tags = loaded(loader, "chats_tags")
    assert not [k for k in tags if k[0] < dt.date(2026, 10, 6)]
    assert loaded(loader, "chats_total_chats")[(first,)] == {}  # the day is there, its metrics null


def test_a_table_that_becomes_empty_is_emptied(
    make_emulator: Any, tmp_path: Path, destination: str | None
) -> None:
    today = dt.date(2026, 11, 18)
    first, last = dt.date(2026, 10, 1), dt.date(2026, 10, 3)
    loader = Loader(make_emulator(now=at(today)), tmp_path / "lc.duckdb", postgres=destination)
    loader.run(today, start_date=first, end_date=last, backfill=True, reports=SOME)
    assert loaded(loader, "chats_tags")
    empty = make_emulator(now=at(today), license_start=dt.date(2026, 11, 1))
    loader.run(
        today, start_date=first, end_date=last, backfill=True, reports=SOME, base_url=empty.url
    )
    for table in (
        "chats_tags",
        "chats_ranking",
        "chats_greetings_conversion",
        "chats_forms",
        "chats_form_answers",
    ):
        assert loaded(loader, table) == {}, table


def test_a_failed_run_moves_no_state_and_the_next_run_recovers(
    make_emulator: Any, tmp_path: Path, destination: str | None
) -> None:
    day1 = dt.date(2026, 11, 10)
    emulator = make_emulator(now=at(day1, 12))
    loader = Loader(emulator, tmp_path / "lc.duckdb", postgres=destination)
    loader.run(day1, start_date=day1 - dt.timedelta(days=4), reports=SOME)
    state, tables = loader.state(), snapshot(loader)

    day2 = day1 + dt.timedelta(days=1)
    emulator.api.now = at(day2, 12)
    emulator.switches = Switches(faults={"503": 1.0})
    with pytest.raises(LiveChatAPIError) as failure:
        loader.run(day2, max_attempts=2)
    assert "chats/" in str(failure.value) and "503" in str(failure.value)
    assert loader.state() == state
    assert snapshot(loader) == tables

    emulator.switches = Switches()
    loader.run(day2)
    assert set(loader.state().values()) == {"2026-11-11"}
    days = Window(day1 - dt.timedelta(days=4), day2).days
    for table in SOME_TABLES:
        assert_table_matches(loaded(loader, table), expected(emulator, table, days, "UTC"), table)
