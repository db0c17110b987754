"""A load killed hard at any point, then run again, ends exactly as a clean run would."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Loader, at
from tests.e2e.test_incremental import snapshot

ROOT = Path(__file__).resolve().parents[2]
DAY1 = dt.date(2026, 11, 10)
DAY2 = dt.date(2026, 11, 12)
REPORTS = [
    "chats_tags",
    "chats_ratings",
    "chats_ranking",
    "chats_forms",
    "chats_queued_visitors_left",
    "customers_unique_visitors_by_period",
]


def crash(
    point: str, count: int, loader: Loader, today: dt.date
) -> subprocess.CompletedProcess[str]:
    options = {
        "db": loader.db,
        "pipeline_name": loader.pipeline.pipeline_name,
        "base_url": loader.emulator.url,
        "today": str(today),
        "reports": REPORTS,
    }
    return subprocess.run(
        [sys.executable, "-m", "tests.e2e.crash_driver", point, str(count), json.dumps(options)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def day_two(make_emulator: Any, tmp_path: Path) -> tuple[Any, Loader, Loader]:
    """Two pipelines loaded on day 1; the clean one has also loaded day 2, the other not yet."""
    emulator = make_emulator(now=at(DAY1, 12))
    clean = Loader(emulator, tmp_path / "clean.duckdb", pipeline_name="clean")
    crashed = Loader(emulator, tmp_path / "crashed.duckdb", pipeline_name="crashed")
    for loader in (clean, crashed):
        loader.run(DAY1, start_date=DAY1 - dt.timedelta(days=6), reports=REPORTS)
    emulator.api.now = at(DAY2, 12)
    clean.run(DAY2, reports=REPORTS)
    return emulator, clean, crashed


@pytest.mark.parametrize(
    ("point", "count"),
    [("extract", 5), ("extract", 12), ("normalize", 1), ("load", 3), ("load", 9)],
)
def test_a_killed_run_is_finished_or_redone_by_the_next_one(
    make_emulator: Any, tmp_path: Path, point: str, count: int
) -> None:
    emulator, clean, crashed = day_two(make_emulator, tmp_path)
    killed = crash(point, count, crashed, DAY2)
    assert killed.returncode == -9, killed.stderr[-2000:]

    again = Loader(emulator, tmp_path / "crashed.duckdb", pipeline_name="crashed")
    summary = again.run(DAY2, reports=REPORTS)
    assert not again.pipeline.has_pending_data
    if point in ("normalize", "load"):
        assert summary.finished_pending == 1
    assert snapshot(again) == snapshot(clean)
    assert again.state() == clean.state() == dict.fromkeys(REPORTS, "2026-11-12")


def test_a_damaged_pending_package_is_discarded_and_its_days_loaded_again(
    make_emulator: Any, tmp_path: Path
) -> None:
    emulator, clean, crashed = day_two(make_emulator, tmp_path)
    assert crash("load", 2, crashed, DAY2).returncode == -9
    # damage every job file the killed run had not loaded yet
    damaged = [
        p
        for p in Path(crashed.pipeline.working_dir).glob("load/normalized/*/new_jobs/*")
        if p.is_file()
    ]
    assert damaged
    for path in damaged:
        path.write_bytes(b"not a parquet file")

    again = Loader(emulator, tmp_path / "crashed.duckdb", pipeline_name="crashed")
    summary = again.run(DAY2, reports=REPORTS)
    assert (summary.finished_pending, summary.discarded_pending) == (0, 1)
    assert not again.pipeline.has_pending_data
    assert snapshot(again) == snapshot(clean)
    assert again.state() == clean.state() == dict.fromkeys(REPORTS, "2026-11-12")


def day_rows(loader: Loader, table: str, day: dt.date) -> list[str]:
    """One day's rows of a table without dlt's columns, sorted."""
    sql = f"select * exclude (_dlt_load_id, _dlt_id) from lr.{table} where report_date = %s"
    return sorted(map(str, loader.query(sql, day)))


def test_a_package_older_than_a_finished_load_of_its_accounts_is_discarded(
    make_emulator: Any, tmp_path: Path
) -> None:
    """A pipeline killed long ago is run again after its account loaded through another.

    As a shard's pipeline is after `shards` changed and changed back: its package holds day
    DAY1 as it stood at noon, and the other pipeline has since loaded that day whole. Finishing
    the package would put the noon figures back, and its cursors with them, so the run would
    then ask for every day since DAY1 again to put them right.
    """
    emulator = make_emulator(now=at(DAY1, 12))
    old = Loader(emulator, tmp_path / "lc.duckdb", pipeline_name="old")
    old.run(DAY1 - dt.timedelta(days=1), start_date=DAY1 - dt.timedelta(days=2), reports=REPORTS)
    assert crash("normalize", 1, old, DAY1).returncode == -9  # its package: DAY1 at noon

    later = DAY1 + dt.timedelta(days=6)
    emulator.api.now = at(later, 6)
    other = Loader(emulator, tmp_path / "lc.duckdb", pipeline_name="other")
    other.run(later, reports=REPORTS)  # every day since the old run's cursors, DAY1 whole
    whole = {table: day_rows(other, table, DAY1) for table in ("chats_tags", "chats_ratings")}

    emulator.api.now = at(later, 7)
    again = Loader(emulator, tmp_path / "lc.duckdb", pipeline_name="old")
    summary = again.run(later, reports=REPORTS)
    assert (summary.finished_pending, summary.discarded_pending) == (0, 1)
    assert not again.pipeline.has_pending_data
    # DAY1 is beyond this run's lookback: its rows are still the whole day's, and the run
    # asked for the lookback days only, as the other pipeline's next run would have
    assert {table: day_rows(again, table, DAY1) for table in whole} == whole
    windows = again.query(
        "select min(window_from) as first from lr.report_requests"
        " where period is null and _dlt_load_id = %s",
        summary.load_id,
    )
    assert windows == [{"first": later - dt.timedelta(days=3)}]
