"""Whoever moves, reconfigures or reads a dataset never gets silently wrong data.

Every test goes through the command, the way a user meets each case: other folders, moved
folders, settings changed between runs, the demo beside real data, other tools reading it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from pipelines.cli import main
from tests.e2e.conftest import at, rehearse

REPORTS = "chats_total_chats,chats_ratings,chats_tags"
TABLES = ("chats_total_chats", "chats_ratings", "chats_tags")
TODAY = dt.date(2026, 11, 18)  # the emulator's and the command's, rehearsed
FIRST_DAY = TODAY - dt.timedelta(days=30)  # the default start of a first run


@pytest.fixture
def emulator(make_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    emu = make_emulator(now=at(TODAY, 0) + 3600 * 6)
    rehearse(emu.api, monkeypatch, at(TODAY, 0) + 3600 * 6)
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID", "demo")
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN", "demo-pat")
    monkeypatch.setenv("SOURCES__LIVECHAT__BASE_URL", emu.url)
    monkeypatch.setenv("SOURCES__LIVECHAT__BACKOFF_SECONDS", "0")
    return emu


def load(folder: Path, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    """Run `livechat-reports load` from `folder`, as a user in that folder would."""
    folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(folder)
    return main(["load", "--reports", REPORTS, "--no-transform", *argv])


def rows(db: Path, table: str, dataset: str = "livechat_reports") -> list[tuple[Any, ...]]:
    """Every row of a table without dlt's columns (in name order: a refresh may add one), sorted."""
    with duckdb.connect(str(db), read_only=True) as con:
        columns = sorted(
            c
            for (c,) in con.execute(
                "select column_name from information_schema.columns"
                " where table_schema = ? and table_name = ?",
                [dataset, table],
            ).fetchall()
            if not c.startswith("_dlt")
        )
        return sorted(
            con.execute(f"select {', '.join(columns)} from {dataset}.{table}").fetchall(),
            key=repr,
        )


def snapshot(db: Path, dataset: str = "livechat_reports") -> dict[str, list[tuple[Any, ...]]]:
    return {t: rows(db, t, dataset) for t in TABLES}


def windows(db: Path, dataset: str = "livechat_reports") -> list[tuple[dt.date, dt.date]]:
    """The (first, last) day of each load's requests, in load order."""
    with duckdb.connect(str(db), read_only=True) as con:
        return [
            tuple(r)
            for r in con.execute(
                f"select min(window_from), max(window_to) from {dataset}.report_requests"
                " group by _dlt_load_id order by _dlt_load_id"
            ).fetchall()
        ]


def test_each_folder_is_its_own_dataset_with_its_own_state(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    x, y = tmp_path / "x", tmp_path / "y"
    assert load(x, monkeypatch) == 0
    x_rows = snapshot(x / "livechat.duckdb")
    assert len(x_rows["chats_total_chats"]) == 31
    capsys.readouterr()

    assert load(y, monkeypatch) == 0
    out = capsys.readouterr().out
    # y gets a file of its own, written by a first run (not an incremental one from x's state)
    assert f"into: {y / 'livechat.duckdb'} (dataset livechat_reports)" in out
    assert windows(y / "livechat.duckdb") == [(FIRST_DAY, TODAY)]
    assert snapshot(y / "livechat.duckdb") == x_rows
    # x was not touched by y's run
    assert windows(x / "livechat.duckdb") == [(FIRST_DAY, TODAY)]
    assert snapshot(x / "livechat.duckdb") == x_rows

    # back in x, the run is incremental from x's own state
    assert load(x, monkeypatch) == 0
    assert windows(x / "livechat.duckdb")[-1] == (TODAY - dt.timedelta(days=3), TODAY)
    assert snapshot(x / "livechat.duckdb") == x_rows

    # a deleted folder does not break the other one
    shutil.rmtree(x)
    assert load(y, monkeypatch) == 0
    assert windows(y / "livechat.duckdb")[-1] == (TODAY - dt.timedelta(days=3), TODAY)
    assert snapshot(y / "livechat.duckdb") == x_rows


def test_a_moved_folder_takes_its_state_from_its_file(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tmp_path / "home" / "livechat"
    assert load(before, monkeypatch) == 0
    loaded = snapshot(before / "livechat.duckdb")
    after = tmp_path / "srv" / "livechat"
    after.parent.mkdir()
    before.rename(after)
    # and on a new machine: no local pipeline state at all
    shutil.rmtree(os.environ["DLT_DATA_DIR"])

    assert load(after, monkeypatch) == 0
    assert not before.exists()
    assert windows(after / "livechat.duckdb")[-1] == (TODAY - dt.timedelta(days=3), TODAY)
    assert snapshot(after / "livechat.duckdb") == loaded


def test_a_relative_duckdb_file_and_configured_credentials_mean_the_current_folder(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, y = tmp_path / "x", tmp_path / "y"
    (x / "data").mkdir(parents=True)
    assert load(x, monkeypatch, "--duckdb-file", "data/x.duckdb") == 0
    assert (x / "data" / "x.duckdb").exists()

    # `.dlt/` is read where the command starts: a process of its own, as a user runs it
    (y / ".dlt").mkdir(parents=True)
    (y / ".dlt" / "config.toml").write_text('[destination.duckdb]\ncredentials = "cfg.duckdb"\n')
    command = [str(Path(sys.executable).parent / "livechat-reports"), "load", "--no-transform"]
    done = subprocess.run(
        [*command, "--reports", REPORTS], cwd=y, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert f"into: {y / 'cfg.duckdb'}" in done.stdout
    assert (y / "cfg.duckdb").exists()
    assert not (y / "livechat.duckdb").exists()
    assert snapshot(y / "cfg.duckdb") == snapshot(x / "data" / "x.duckdb")


CHANGES = {
    "timezone": (["--timezone", "Europe/Warsaw"], {}, "`timezone` was `UTC`", "`Europe/Warsaw`"),
    "distribution": (["--distribution", "hour"], {}, "`distribution` was `day`", "`hour`"),
    "filters": (
        [],
        {"SOURCES__LIVECHAT__FILTERS": '{"groups": {"values": [0]}}'},
        "`filters` was `{} (none)`",
        '`{"groups":{"values":[0]}}`',
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_changed_meaning_is_refused_before_any_request(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, change: str
) -> None:
    argv, env, old, new = CHANGES[change]
    x = tmp_path / "x"
    assert load(x, monkeypatch) == 0
    loaded = snapshot(x / "livechat.duckdb")
    capsys.readouterr()
    emulator.stats.reset()
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    assert load(x, monkeypatch, *argv) == 2
    err = capsys.readouterr().err
    assert old in err and new in err
    assert "--dataset" in err and "--refresh" in err
    assert emulator.stats.total() == 0
    assert snapshot(x / "livechat.duckdb") == loaded
    # a backfill into the same dataset would mix them too
    assert load(x, monkeypatch, *argv, "--start-date", str(TODAY)) == 2
    assert emulator.stats.total() == 0


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_refresh_replaces_every_row_with_the_new_meaning(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    argv, env, _, _ = CHANGES[change]
    x, fresh = tmp_path / "x", tmp_path / "fresh"
    assert load(x, monkeypatch) == 0
    unchanged = snapshot(x / "livechat.duckdb")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert load(fresh, monkeypatch, *argv) == 0
    wanted = snapshot(fresh / "livechat.duckdb")
    assert wanted != unchanged  # the setting changes the numbers

    assert load(x, monkeypatch, *argv, "--refresh") == 0
    assert snapshot(x / "livechat.duckdb") == wanted
    # the new meaning is the dataset's now: plain runs go on incrementally
    assert load(x, monkeypatch, *argv) == 0
    assert windows(x / "livechat.duckdb")[-1][0] == TODAY - dt.timedelta(days=3)
    assert snapshot(x / "livechat.duckdb") == wanted
    # and the old settings are refused in turn
    for name in env:
        monkeypatch.delenv(name)
    assert load(x, monkeypatch) == 2


def test_report_requests_record_the_filters(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__LIVECHAT__FILTERS", '{"groups": {"values": [0, 2]}}')
    assert load(tmp_path, monkeypatch) == 0
    with duckdb.connect(str(tmp_path / "livechat.duckdb"), read_only=True) as con:
        recorded = con.execute(
            "select distinct filters from livechat_reports.report_requests"
        ).fetchall()
    assert recorded == [('{"groups":{"values":[0,2]}}',)]


def test_refresh_of_some_reports_is_refused_when_others_hold_rows(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    assert load(tmp_path, monkeypatch) == 0
    loaded = snapshot(tmp_path / "livechat.duckdb")
    emulator.stats.reset()
    monkeypatch.chdir(tmp_path)
    code = main(["load", "--reports", "chats_total_chats", "--timezone", "Asia/Tokyo", "--refresh"])
    assert code == 2
    assert "would leave chats_ratings, chats_tags with rows of the old settings" in (
        capsys.readouterr().err
    )
    assert emulator.stats.total() == 0
    assert snapshot(tmp_path / "livechat.duckdb") == loaded


def test_the_demo_never_writes_the_users_data(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    x, y = tmp_path / "x", tmp_path / "y"
    for folder in (x, y):
        folder.mkdir()
        monkeypatch.chdir(folder)
        assert main(["demo", "--days", "2"]) == 0
        out = capsys.readouterr().out
        assert f"into: {folder / 'livechat-demo.duckdb'}" in out
        assert f"duckdb {folder / 'livechat-demo.duckdb'}" in out
        assert (folder / "livechat-demo.duckdb").exists()
        assert not (folder / "livechat.duckdb").exists()


def test_other_tools_find_what_the_command_wrote(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = tmp_path / "x"
    assert load(x, monkeypatch) == 0
    assert main(["transform"]) == 0
    # columns in name order: account_id, continuous, report_date, report_hour, total
    expected = [
        (a, c, d, t) for (a, c, d, _, t) in rows(x / "livechat.duckdb", "chats_total_chats")
    ]

    # from another folder, by the pipeline's name alone
    monkeypatch.chdir(tmp_path)
    pipeline = dlt.attach("livechat_reports")
    dataset = pipeline.dataset()
    got = dataset["chats_total_chats"].select("account_id", "continuous", "report_date", "total")
    assert sorted(got.fetchall(), key=repr) == expected
    # views are not in dlt's schema: plain SQL through the pipeline's client reads them
    with pipeline.sql_client() as client:
        kpi = client.execute_sql(
            "select report_date, total_chats from stg_livechat__chats_total_chats"
            " order by report_date"
        )
    assert sorted((d, t) for (_, _, d, t) in expected) == [tuple(r) for r in kpi]

    info = subprocess.run(
        [str(Path(sys.executable).parent / "dlt"), "pipeline", "livechat_reports", "info"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    assert info.returncode == 0, info.stderr
    assert "dataset_name: livechat_reports" in info.stdout
    assert "demo-pat" not in info.stdout + info.stderr


def test_a_dataset_name_dlt_renames_is_said_once(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    assert load(tmp_path, monkeypatch, "--dataset", "Support Data") == 0
    said = [r.getMessage() for r in caplog.records if "Support Data" in r.getMessage()]
    assert said == ["Dataset `Support Data` is stored as `support_data`"]
    assert rows(tmp_path / "livechat.duckdb", "chats_total_chats", "support_data")
