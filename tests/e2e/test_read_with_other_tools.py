"""The DuckDB file opens outside the pipeline: in the DuckDB CLI (1.x) and through dlt's dataset.

A file written by a newer DuckDB than the reader's cannot be opened at all ("version number 69,
can only read 64 to 68"), so these tests fail if the pinned `duckdb` writes a format the CLI on
PyPI cannot read, or if dlt's dataset reader and the installed `duckdb` stop fitting together.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sources.livechat.windows import Window
from sources.livechat_emulator import Emulator, ReportsAPI
from tests.e2e.conftest import Loader, at
from tests.e2e.oracle import assert_table_matches, expected, loaded

TODAY = dt.date(2026, 11, 18)
FIRST, LAST = dt.date(2026, 11, 2), dt.date(2026, 11, 8)
DAYS = Window(FIRST, LAST).days
# `duckdb-cli` (the test extra) puts its `duckdb` command next to the venv's python.
DUCKDB_CLI = Path(sys.executable).with_name("duckdb")


@pytest.fixture(scope="module")
def loaded_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, Loader]]:
    """A week of every report loaded into a DuckDB file, views built, once for the module."""
    tmp = tmp_path_factory.mktemp("other_tools")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        mp.setenv("DLT_DATA_DIR", str(tmp / "dlt"))
        mp.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
        with Emulator(ReportsAPI(now=at(TODAY))) as emulator:
            loader = Loader(emulator, tmp / "livechat.duckdb")
            loader.run(TODAY, start_date=FIRST, end_date=LAST, backfill=True, transform=True)
            yield emulator, loader


def cli(db: str, sql: str) -> list[dict[str, Any]]:
    """Run `sql` with the DuckDB CLI on `db`, read-only, and return its rows (JSON mode)."""
    assert DUCKDB_CLI.exists(), f"no DuckDB CLI at {DUCKDB_CLI}: install the test extra"
    done = subprocess.run(
        [str(DUCKDB_CLI), "-readonly", "-json", db, "-c", sql],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"the DuckDB CLI could not read {db}: {done.stderr.strip()}"
    rows: list[dict[str, Any]] = json.loads(done.stdout or "[]")
    return rows


def as_cli(value: Any, cli_value: Any) -> Any:
    """A value from the Python client in the form the CLI's JSON mode gives the same value.

    JSON mode writes dates as ISO text and HUGEINT and DECIMAL values as quoted numbers.
    """
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(cli_value, str) and isinstance(value, (int, float, decimal.Decimal)):
        return str(value)
    return value


def test_the_file_opens_in_the_duckdb_1_cli(loaded_file: tuple[Emulator, Loader]) -> None:
    _, loader = loaded_file
    (row,) = cli(
        loader.db,
        "select version() as version, tags['storage_version'] as storage"
        " from duckdb_databases() where database_name = current_database()",
    )
    # the CLI is 1.x, and the file is in the format every DuckDB since 1.0 reads
    assert (row["version"][:3], row["storage"]) == ("v1.", "v1.0.0+"), row


def test_the_cli_reads_a_table_as_the_api_sent_it(loaded_file: tuple[Emulator, Loader]) -> None:
    emulator, loader = loaded_file
    rows = cli(
        loader.db,
        "select report_date, total, continuous from livechat_reports.chats_total_chats"
        " where account_id = 'demo' order by report_date",
    )
    want = expected(emulator, "chats_total_chats", DAYS, "UTC")
    got = {}
    for row in rows:
        day = dt.date.fromisoformat(row.pop("report_date"))
        got[(day,)] = {k: v for k, v in row.items() if v is not None}
    assert len(got) == len(DAYS)
    assert_table_matches(got, want, "chats_total_chats (CLI)")


def test_the_cli_reads_a_view_as_the_pipeline_does(loaded_file: tuple[Emulator, Loader]) -> None:
    emulator, loader = loaded_file
    sql = "select * from lr.kpi_daily order by account_id, report_date"
    through_pipeline = loader.query(sql)
    through_cli = cli(loader.db, sql.replace("lr.", "livechat_reports."))
    assert len(through_cli) == len(through_pipeline) == len(DAYS)
    for by_cli, by_pipeline in zip(through_cli, through_pipeline, strict=True):
        assert by_cli == {k: as_cli(v, by_cli.get(k)) for k, v in by_pipeline.items()}
    totals = {r["report_date"]: r["total_chats"] for r in through_cli}
    oracle = expected(emulator, "chats_total_chats", DAYS, "UTC")
    assert totals == {day.isoformat(): oracle[(day,)]["total"] for day in DAYS}


def test_dataset_arrow_returns_the_loaded_rows(loaded_file: tuple[Emulator, Loader]) -> None:
    emulator, loader = loaded_file
    table = loader.pipeline.dataset()["chats_total_chats"].arrow()
    got = {}
    for record in table.to_pylist():
        assert record.pop("account_id") == "demo"
        day = record.pop("report_date")
        got[(day,)] = {
            k: v for k, v in record.items() if not k.startswith("_dlt") and v is not None
        }
    assert got == loaded(loader, "chats_total_chats")
    assert_table_matches(
        got, expected(emulator, "chats_total_chats", DAYS, "UTC"), "chats_total_chats (arrow)"
    )
