"""Views over part of the data: some reports loaded, a load that stopped part way, no tables."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from tests.e2e.conftest import Loader, at
from tests.e2e.oracle import ask
from tests.e2e.test_transforms import rounded
from transforms import run_transforms
from transforms.tables import report_tables

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 11, 18)
FIRST, LAST = dt.date(2026, 10, 1), dt.date(2026, 10, 4)  # Thursday to Sunday
LOADED = ["chats_total_chats", "chats_ratings"]
NOT_LOADED_COLUMNS = (
    "avg_chat_duration_seconds",
    "avg_response_time_seconds",
    "avg_first_response_time_seconds",
    "chats_started_by_agent",
    "chats_started_by_customer",
    "chats_from_greetings",
    "unique_visitors",
    "page_views",
    "available_hours",
)


def transform_argv(
    loader: Loader, monkeypatch: pytest.MonkeyPatch, postgres: str | None
) -> list[str]:
    """The `transform` command line for the loader's destination."""
    if postgres:
        monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres)
        return ["transform", "--destination", "postgres"]
    return ["transform", "--duckdb-file", loader.db]


def test_kpi_views_build_from_the_reports_that_were_loaded(
    make_emulator: Any,
    tmp_path: Path,
    destination: str | None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emulator = make_emulator(now=at(TODAY))
    loader = Loader(emulator, tmp_path / "lc.duckdb", postgres=destination)
    loader.run(TODAY, start_date=FIRST, end_date=LAST, backfill=True, reports=LOADED)

    assert main(transform_argv(loader, monkeypatch, destination)) == 0
    out, err = capsys.readouterr()
    notes = [line for line in (out + err).splitlines() if "no data" in line.lower()]
    assert len(notes) == 1, out + err
    # per-group tables are not missing while the group breakdown is off
    tables = {t for t in report_tables() if not t.endswith("_by_group")}
    missing = sorted(tables - {*LOADED, "report_requests"})
    assert notes[0] == f"No data yet for: {', '.join(missing)} (the views read them as empty)."
    assert "skipped" not in out + err

    body = {"filters": {"from": f"{FIRST}T00:00:00Z", "to": f"{LAST}T23:59:59Z"}}
    totals = ask(emulator, "chats/total_chats", body)["records"]
    ratings = ask(emulator, "chats/ratings", body)["records"]
    days = loader.query("select * from lr.kpi_daily order by report_date")
    assert [d["report_date"] for d in days] == [FIRST + dt.timedelta(days=i) for i in range(4)]
    for day in days:
        key = str(day["report_date"])
        good, bad = ratings[key].get("good", 0), ratings[key].get("bad", 0)
        assert (day["total_chats"], day["continuous_chats"]) == (
            totals[key].get("total", 0),
            totals[key].get("continuous", 0),
        )
        assert (day["chats_rated_good"], day["chats_rated_bad"]) == (good, bad)
        assert day["satisfaction_rate"] == (
            pytest.approx(good / (good + bad)) if good + bad else None
        )
        assert {c: day[c] for c in NOT_LOADED_COLUMNS} == dict.fromkeys(NOT_LOADED_COLUMNS)

    for mart, start in (("kpi_weekly", dt.date(2026, 9, 28)), ("kpi_monthly", FIRST)):
        (row,) = loader.query(f"select * from lr.{mart}")
        assert row[mart.replace("kpi_", "")[:-2] + "_start"] == start
        assert row["is_partial_period"] is True
        assert row["total_chats"] == sum(d["total_chats"] for d in days) > 0
        assert row["chats_rated_good"] == sum(d["chats_rated_good"] for d in days) > 0
        assert {c: row[c] for c in NOT_LOADED_COLUMNS} == dict.fromkeys(NOT_LOADED_COLUMNS)


def test_the_load_logs_one_line_for_the_reports_without_data(
    make_emulator: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    loader = Loader(make_emulator(now=at(TODAY)), tmp_path / "lc.duckdb")
    caplog.set_level(logging.INFO, logger="livechat_reports")
    loader.run(
        TODAY, start_date=FIRST, end_date=LAST, backfill=True, reports=LOADED, transform=True
    )
    notes = [r.getMessage() for r in caplog.records if "no data" in r.getMessage().lower()]
    assert len(notes) == 1 and "chats_engagement" in notes[0] and "chats_ratings" not in notes[0]
    assert not [r for r in caplog.records if "skipped" in r.getMessage()]


def unfinished(loader: Loader) -> list[dict[str, Any]]:
    return loader.query(
        "select load_id, table_name, report_date from lr.stg_livechat__unfinished_loads"
        " order by table_name, report_date"
    )


def test_days_of_an_unfinished_load_reach_no_mart_until_it_finishes(
    make_emulator: Any, tmp_path: Path, destination: str | None
) -> None:
    """Rows whose load has no row in `_dlt_loads` yet, as a failed load step leaves them."""
    loader = Loader(make_emulator(now=at(TODAY)), tmp_path / "lc.duckdb", postgres=destination)
    loader.run(TODAY, start_date=FIRST, end_date=LAST, backfill=True, transform=True)
    marts = ("kpi_daily", "agent_scorecard_daily")
    before = {m: loader.query(f"select * from lr.{m} order by 1, 2, 3") for m in marts}
    day, week = dt.date(2026, 10, 3), dt.date(2026, 9, 28)
    # what the merge of an unfinished load leaves: the day's rows replaced, under a new load id
    with loader.pipeline.sql_client() as client:
        table = client.make_qualified_table_name("chats_total_chats")
        client.execute_sql(
            f"update {table} set total = total + 1000, _dlt_load_id = '1999999999.5'"
            " where report_date = %s",
            day,
        )
    run_transforms(loader.pipeline)

    assert unfinished(loader) == [
        {"load_id": "1999999999.5", "table_name": "chats_total_chats", "report_date": day}
    ]
    for mart in marts:  # the day is gone from every table's staging view, not only this one
        rows = loader.query(f"select * from lr.{mart} order by 1, 2, 3")
        assert rows == [r for r in before[mart] if r["report_date"] != day], mart
        assert any(r["report_date"] == day for r in before[mart]), mart
    weekly = loader.query("select * from lr.kpi_weekly where week_start = %s", week)
    assert weekly[0]["is_partial_period"] is True
    assert weekly[0]["total_chats"] == sum(
        r["total_chats"] for r in before["kpi_daily"] if r["report_date"] != day
    )
    other_days = loader.query(
        "select tag, sum(chats) as chats from lr.tags_chat_usage"
        " where report_date <> %s and chats is not null group by tag",
        day,
    )
    tags = loader.query("select tag, chats from lr.tag_usage_weekly where week_start = %s", week)
    assert {r["tag"]: r["chats"] for r in tags} == {r["tag"]: r["chats"] for r in other_days}

    # the next run finishes the load: dlt writes its row in `_dlt_loads` last
    with loader.pipeline.sql_client() as client:
        loads = client.make_qualified_table_name("_dlt_loads")
        client.execute_sql(
            f"insert into {loads} (load_id, schema_name, status, inserted_at, schema_version_hash)"
            f" select '1999999999.5', schema_name, 0, inserted_at, schema_version_hash"
            f" from {loads} where load_id = (select max(load_id) from {loads})"
        )
    assert unfinished(loader) == []
    finished = loader.query("select * from lr.kpi_daily where report_date = %s", day)
    expected = next(r for r in before["kpi_daily"] if r["report_date"] == day)
    total = expected["total_chats"] + 1000
    assert expected["missed_chats"]  # the rate below is not the trivial 0
    assert finished == [
        {**expected, "total_chats": total, "missed_chat_rate": expected["missed_chats"] / total}
    ]


def test_a_load_killed_in_its_load_step_is_not_served_until_finished(
    make_emulator: Any, tmp_path: Path
) -> None:
    """A real failed load step: the process dies after some tables were merged, before the end."""
    day1, day2 = dt.date(2026, 11, 10), dt.date(2026, 11, 12)
    emulator = make_emulator(now=at(day1))
    clean = Loader(emulator, tmp_path / "clean.duckdb", pipeline_name="clean")
    killed = Loader(emulator, tmp_path / "killed.duckdb", pipeline_name="killed")
    for loader in (clean, killed):
        loader.run(day1, start_date=day1 - dt.timedelta(days=6), reports=LOADED, transform=True)
    before = killed.query("select * from lr.kpi_daily order by report_date")
    emulator.api.now = at(day2)
    clean.run(day2, reports=LOADED, transform=True)
    options = {
        "db": killed.db,
        "pipeline_name": "killed",
        "base_url": emulator.url,
        "today": str(day2),
        "reports": LOADED,
    }
    # die once the first report table is merged, the others not yet
    crashed = subprocess.run(
        [sys.executable, "-m", "tests.e2e.crash_driver", "merge", "1", json.dumps(options)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert crashed.returncode == -9, crashed.stderr[-2000:]

    run_transforms(killed.pipeline)
    left = unfinished(killed)
    assert {r["table_name"] for r in left} & set(LOADED), "no table was merged before the kill"
    days = {r["report_date"] for r in left if r["report_date"] is not None}
    assert days == {day1 - dt.timedelta(days=3) + dt.timedelta(days=i) for i in range(6)}
    after = killed.query("select * from lr.kpi_daily order by report_date")
    assert rounded(after) == rounded([r for r in before if r["report_date"] not in days])

    again = Loader(emulator, tmp_path / "killed.duckdb", pipeline_name="killed")
    assert again.run(day2, reports=LOADED, transform=True).finished_pending == 1
    assert unfinished(again) == []
    assert rounded(again.query("select * from lr.kpi_daily")) == rounded(
        clean.query("select * from lr.kpi_daily")
    )


def test_transform_of_a_dataset_without_tables_exits_2(
    make_emulator: Any,
    tmp_path: Path,
    destination: str | None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    loader = Loader(make_emulator(now=at(TODAY)), tmp_path / "lc.duckdb", postgres=destination)
    loader.run(TODAY, start_date=FIRST, end_date=FIRST, backfill=True, reports=LOADED)

    assert main([*transform_argv(loader, monkeypatch, destination), "--dataset", "nosuch"]) == 2
    out, err = capsys.readouterr()
    where = "DuckDB file" if destination is None else "postgres database"
    assert err.startswith(f"No loaded tables were found in dataset `nosuch` of {where}")
    assert "Load first" in err and "--dataset" in err and "Traceback" not in err
    assert out == "" and "unused" not in err  # the test server's password
    schemas = loader.query(
        "select schema_name from information_schema.schemata where schema_name = 'nosuch'"
    )
    assert schemas == []


def test_transform_of_a_duckdb_file_that_does_not_exist_exits_2_and_creates_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "typo.duckdb"
    assert main(["transform", "--duckdb-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"dataset `livechat_reports` of DuckDB file `{path}`" in err
    assert not path.exists()
