"""The command when something is wrong: each cause its own exit code, message and advice.

Configuration mistakes exit 2 before any request. A DuckDB path that names no usable database
exits 2, one the machine stops from being written (a lock, a read-only mount) exits 1, both
before any request. A failed load step says which tables got rows and what the next run does.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.cli import main
from tests.e2e.conftest import Loader, at
from tests.e2e.test_incremental import snapshot

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cr3t-pat-9f8e7d"
STAMP = re.compile(r"^\d\d:\d\d:\d\d ")  # our own log lines: one per report


def today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def api_now() -> float:
    """The emulator's clock: six in the morning of today (the command cuts days by the clock)."""
    return at(today(), 6)


@pytest.fixture
def emulator(make_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An emulator, and the environment a scheduled `load` would have for it."""
    api = make_emulator(now=api_now(), personal_access_token=TOKEN)
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID", "demo")
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("SOURCES__LIVECHAT__BASE_URL", api.url)
    monkeypatch.setenv("SOURCES__LIVECHAT__BACKOFF_SECONDS", "0")
    monkeypatch.delenv("DESTINATION__POSTGRES__CREDENTIALS", raising=False)
    monkeypatch.delenv("DESTINATION__DUCKDB__CREDENTIALS", raising=False)
    return api


def command(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `livechat-reports` in its own process, so dlt's own logging is what a user sees."""
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *argv],
        cwd=os.getcwd(),
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def message_lines(stderr: str) -> list[str]:
    """The closing message: stderr without the per-report log lines."""
    return [line for line in stderr.splitlines() if line and not STAMP.match(line)]


# --- item 6: configuration --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "argv", "words"),
    [
        (
            {"SOURCES__LIVECHAT__LOOKBACK_DAYS": "three"},
            [],
            "Configuration error: `lookback_days` must be a whole number; got `three` (from the"
            " environment variable SOURCES__LIVECHAT__LOOKBACK_DAYS).",
        ),
        (
            {"SOURCES__LIVECHAT__FILTERS": "not json"},
            [],
            "Configuration error: `filters` must be a JSON object (a table in TOML), like"
            ' {"groups": {"values": [0, 2]}}; got `not json` (from the environment variable'
            " SOURCES__LIVECHAT__FILTERS).",
        ),
        (
            {"SOURCES__LIVECHAT__REPORTS": "[chats_ratings"},
            [],
            "`reports` must be report names separated by commas, or a JSON list of names;"
            " got `[chats_ratings`",
        ),
        (
            {"SOURCES__LIVECHAT__REPORTS": "chats_ratings,chats_totals"},
            [],
            "Unknown report `chats_totals`. Valid reports: chats_duration",
        ),
        (
            {},
            ["--destination", "nosuchdest"],
            "Unknown destination `nosuchdest`. Use one of dlt's destinations (athena, bigquery,",
        ),
        (
            {},
            ["--pipeline-name", "bad/name"],
            "Invalid pipeline name `bad/name`: it names the pipeline's working directory, so it"
            " must be a valid directory name: `/` not allowed. Use letters, digits, `_` and `-`",
        ),
        (
            {},
            ["--end-date", "2026-01-31"],
            "`end_date` 2026-01-31 is before the default start (",
        ),
        (
            {},
            ["--destination", "postgres"],
            "Missing configuration of the destination `postgres`: credentials. Set it in"
            " .dlt/secrets.toml under [destination.postgres], or as"
            " DESTINATION__POSTGRES__CREDENTIALS.",
        ),
    ],
)
def test_configuration_errors_exit_2_in_one_line_before_any_request(
    emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    argv: list[str],
    words: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["load", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and "Exception" not in err
    assert "start_date` 20" not in err  # no blame for a start date nobody gave
    assert emulator.stats.total() == 0


@pytest.mark.parametrize(
    ("value", "requested"),
    [
        ("chats_ratings", {"chats/ratings"}),
        ("chats_ratings, tags_chat_usage", {"chats/ratings", "tags/chat_usage"}),
        ('["chats_ratings"]', {"chats/ratings"}),
    ],
)
def test_reports_from_the_environment_take_the_comma_list_of_the_option(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, value: str, requested: set[str]
) -> None:
    monkeypatch.setenv("SOURCES__LIVECHAT__REPORTS", value)
    assert main(["load", "--no-transform"]) == 0
    assert {path for path, count in emulator.stats.requests.items() if count} == requested


# --- item 5: the DuckDB file --------------------------------------------------------------------


def unusable_path(case: str, tmp: Path) -> str:
    """Make the DuckDB path of a case: a missing directory, a directory, garbage in a file."""
    if case == "missing-directory":
        return "nodir/x.duckdb"
    if case == "a-directory":
        (tmp / "adir").mkdir()
        return "adir"
    (tmp / "bad.duckdb").write_bytes(os.urandom(300_000))
    return "bad.duckdb"


@pytest.mark.parametrize(
    ("case", "words"),
    [
        (
            "missing-directory",
            "The DuckDB file `{tmp}/nodir/x.duckdb` cannot be created: the directory"
            " `{tmp}/nodir` does not exist. Nothing was requested from the API and nothing was"
            " changed. Create the directory, or point --duckdb-file at a file in an existing one.",
        ),
        (
            "a-directory",
            "`{tmp}/adir` is a directory, not a DuckDB file. Nothing was requested from the API"
            " and nothing was changed. Give --duckdb-file a file name, e.g."
            " `{tmp}/adir/livechat.duckdb`.",
        ),
        (
            "not-a-database",
            "`{tmp}/bad.duckdb` is not a DuckDB database (it is damaged, or another kind of file)."
            " Nothing was requested from the API and nothing was changed. If the path is wrong,"
            " point --duckdb-file at the right file. If the file is damaged, restore it from a"
            " backup, or move it aside",
        ),
    ],
)
def test_a_duckdb_path_that_cannot_work_exits_2_before_any_request(
    emulator: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str, words: str
) -> None:
    assert main(["load", "--duckdb-file", unusable_path(case, tmp_path)]) == 2
    err = capsys.readouterr().err
    assert words.format(tmp=tmp_path) in err
    assert "run the load again" not in err
    assert emulator.stats.total() == 0


@contextmanager
def holding(path: Path, read_only: bool) -> Iterator[subprocess.Popen[str]]:
    """Keep a DuckDB connection open in another process, as a BI tool or a notebook does."""
    code = (
        "import duckdb, sys, time\n"
        f"c = duckdb.connect(sys.argv[1], read_only={read_only})\n"
        "print('open', flush=True)\n"
        "time.sleep(120)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        yield holder
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("read_only", [False, True], ids=["read-write", "read-only"])
def test_a_file_held_open_by_another_program_names_it_and_the_rule_for_bi_tools(
    emulator: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path, read_only: bool
) -> None:
    db = tmp_path / "livechat.duckdb"
    assert main(["load", "--reports", "chats_ratings", "--no-transform"]) == 0
    before = emulator.stats.total()
    with holding(db, read_only) as holder:
        assert main(["load", "--reports", "chats_ratings"]) == 1
    err = capsys.readouterr().err
    assert f"The DuckDB file `{db}` is in use by another program: " in err
    assert f"(PID {holder.pid}). Nothing was requested from the API and nothing was changed." in err
    assert "BI tools and notebooks must open it read-only and only between loads" in err
    assert emulator.stats.total() == before
    assert main(["load", "--reports", "chats_ratings", "--no-transform"]) == 0  # once it is closed


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """Mount a small RAM file system at `path`; skip (with the reason) where that is not allowed."""
    path.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no `mount` command to make a small or read-only file system")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def remount(path: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(path)], check=True)


def test_a_read_only_file_system_exits_1_before_any_request(
    emulator: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "disk", "16m") as disk:
        db = disk / "livechat.duckdb"
        assert main(["load", "--duckdb-file", str(db), "--reports", "chats_ratings"]) == 0
        before = emulator.stats.total()
        remount(disk, "ro")
        assert main(["load", "--duckdb-file", str(db), "--reports", "chats_ratings"]) == 1
        err = capsys.readouterr().err
        assert (
            f"`{db}` cannot be written: its file system is read-only. Nothing was requested from"
            " the API and nothing was changed. Make the file system writable again" in err
        )
        assert emulator.stats.total() == before


# --- item 4: a load step that fails half way ----------------------------------------------------

COMMITTED = re.compile(
    r"^Committed before the failure: (?P<tables>.+) of load (?P<load_id>[\d.]+); not committed:"
    r" (?:the other|its) (?P<others>\d+) tables? and the state \(no `_dlt_loads` row for this"
    r" load\)\.$"
)


def claimed_rows(match: re.Match[str]) -> dict[str, int]:
    return {t: int(n) for t, n in re.findall(r"(\w+) \((\d+) rows\)", match["tables"])}


def rows_of_load(
    destination: str | None, db: Path, load_id: str
) -> tuple[dict[str, int], int, bool]:
    """Count the rows of `load_id` per data table; count the tables; is it in `_dlt_loads`?"""
    tables_sql = (
        "select table_name from information_schema.tables where table_schema = 'livechat_reports'"
        " and table_type = 'BASE TABLE'"
    )
    if destination is None:
        con: Any = duckdb.connect(str(db), read_only=True)
        cursor, mark = con, "?"
    else:
        import psycopg2

        con = psycopg2.connect(destination)
        cursor, mark = con.cursor(), "%s"
    try:
        cursor.execute(tables_sql)
        tables = [t for (t,) in cursor.fetchall() if not t.startswith("_dlt")]
        counts = {}
        for table in tables:
            cursor.execute(
                f'select count(*) from livechat_reports."{table}" where _dlt_load_id = {mark}',
                [load_id],
            )
            counts[table] = cursor.fetchone()[0]
        cursor.execute(
            f"select count(*) from livechat_reports._dlt_loads where load_id = {mark}", [load_id]
        )
        recorded = bool(cursor.fetchone()[0])
    finally:
        con.close()
    return {t: n for t, n in counts.items() if n}, len(tables), recorded


def test_a_full_disk_during_the_load_step_says_what_was_committed_and_the_next_run_heals(
    emulator: Any, make_emulator: Any, tmp_path: Path
) -> None:
    first, last = today() - dt.timedelta(days=59), today() - dt.timedelta(days=1)
    with tmpfs(tmp_path / "disk", "512k") as disk:
        db = disk / "livechat.duckdb"
        argv = ["load", "--duckdb-file", str(db), "--start-date", str(first)]
        argv += ["--end-date", str(last)]
        failed = command(*argv)
        assert failed.returncode == 1, failed.stderr[-3000:]
        assert "Traceback" not in failed.stderr
        lines = message_lines(failed.stderr)
        assert len(lines) == 3, failed.stderr[-3000:]
        # DuckDB checkpoints each commit, so the write that fails is the file's or its log's
        assert lines[0] in (
            f"The load step failed: The disk is full: writing `{written}` failed (no space left"
            " on device)."
            for written in (db, f"{db}.wal")
        )
        found = COMMITTED.match(lines[1])
        assert found, lines[1]
        assert lines[2] == (
            f"Free space on the file system that holds `{disk}`. Then run the load again: it"
            " finishes this package first (its days are replaced, nothing is doubled), then"
            " loads new data."
        )
        committed, tables, recorded = rows_of_load(None, db, found["load_id"])
        assert claimed_rows(found) == committed  # the message says exactly what is there
        # every table of the load, report_requests and account_loads included
        assert int(found["others"]) == tables - len(committed) and tables == 23
        assert not recorded

        # a BI tool holding the file refuses the next run before it touches the left package
        remount(disk, "size=64m")
        with holding(db, read_only=True):
            locked = command(*argv)
        assert locked.returncode == 1
        assert "is in use by another program" in locked.stderr

        healed = command(*argv)
        assert healed.returncode == 0, healed.stderr[-3000:]
        assert "finished 1 package(s) of an interrupted run first" in healed.stdout
        healed_tables = snapshot(Loader(emulator, db))

    clean = Loader(make_emulator(now=api_now()), tmp_path / "clean.duckdb", pipeline_name="c")
    clean.run(today(), start_date=first, end_date=last, backfill=True)
    assert healed_tables == snapshot(clean)


def test_a_disk_that_fills_after_the_load_says_the_data_is_loaded_and_the_next_run_heals(
    emulator: Any, make_emulator: Any, tmp_path: Path
) -> None:
    """The load's commits are in the file; dbt's build folder is on a disk with no room left.

    (DuckDB checkpoints each commit of a load, so a disk too small for the file fails the load
    step itself: see the test above. What is left to fill after the load is dbt's.)
    """
    first, last = today() - dt.timedelta(days=59), today() - dt.timedelta(days=1)
    db = tmp_path / "livechat.duckdb"
    argv = ["load", "--duckdb-file", str(db), "--start-date", str(first)]
    argv += ["--end-date", str(last)]
    loaded = command(*argv, "--no-transform")
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    working_dir = Path(os.environ["DLT_DATA_DIR"]) / "pipelines" / "livechat_reports"
    assert working_dir.is_dir()
    with tmpfs(working_dir / "dbt", "16k") as build:  # where the load's dbt build writes
        failed = command(*argv)
        assert failed.returncode == 1, failed.stderr[-3000:]
        assert "Traceback" not in failed.stderr
        message = " ".join(message_lines(failed.stderr))
        assert message.startswith("The data is loaded, but the views are not: dbt build failed")
        assert "No space left on device" in message
        remount(build, "size=64m")
        healed = command(*argv)
        assert healed.returncode == 0, healed.stderr[-3000:]
    healed_tables = snapshot(Loader(emulator, db))
    clean = Loader(make_emulator(now=api_now()), tmp_path / "clean.duckdb", pipeline_name="c")
    clean.run(today(), start_date=first, end_date=last, backfill=True)
    assert healed_tables == snapshot(clean)


# Every column the load writes, so no ALTER is needed, but `account_id` an integer.
CLASHING_COLUMNS = (
    "account_id integer, report_date date, chats bigint, good bigint, bad bigint,"
    " _dlt_load_id varchar, _dlt_id varchar"
)


@pytest.fixture
def clashing_table(destination: str | None, tmp_path: Path) -> dict[str, str]:
    """A `chats_ratings` table whose `account_id` is an integer: its load job fails terminally."""
    if destination is None:
        with duckdb.connect(str(tmp_path / "livechat.duckdb")) as con:
            con.execute("create schema livechat_reports")
            con.execute(f"create table livechat_reports.chats_ratings ({CLASHING_COLUMNS})")
        return {}
    import psycopg2

    with psycopg2.connect(destination) as con, con.cursor() as cur:
        cur.execute("create schema livechat_reports")
        cur.execute(f"create table livechat_reports.chats_ratings ({CLASHING_COLUMNS})")
    return {"DESTINATION__POSTGRES__CREDENTIALS": destination}


def test_a_failed_load_job_is_one_message_and_debug_shows_dlt_tracebacks(
    emulator: Any, destination: str | None, clashing_table: dict[str, str], tmp_path: Path
) -> None:
    name = "postgres" if destination else "duckdb"
    argv = ["load", "--destination", name, "--reports", "chats_ratings,tags_chat_usage"]
    failed = command(*argv, "--no-transform", env=clashing_table)
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    lines = message_lines(failed.stderr)
    # the three lines of the message; before it only dlt's one-line warnings about the table
    assert all("|[WARNING]|" in line and "|dlt|" in line for line in lines[:-3]), failed.stderr
    assert lines[-3].startswith("The load step failed: ")
    assert '"demo"' in lines[-3] or "'demo'" in lines[-3]  # the database's one-line reason
    found = COMMITTED.match(lines[-2])
    assert found, lines[-2]
    db = tmp_path / "livechat.duckdb"
    committed, _, recorded = rows_of_load(destination, db, found["load_id"])
    assert claimed_rows(found) == committed
    assert set(committed) <= {
        "tags_chat_usage",
        "report_requests",
        "account_loads",
        "account_cursors",
    }
    assert int(found["others"]) == 5 - len(committed)
    assert not recorded
    assert lines[-1] == (
        "Once the cause is fixed, run the load again: it finishes this package first (its days"
        " are replaced, nothing is doubled), then loads new data."
    )

    debug = command("--debug", *argv, "--no-transform", env=clashing_table)
    assert debug.returncode == 1
    assert debug.stderr.count("Traceback") >= 2  # dlt's records of the failed job, in full
