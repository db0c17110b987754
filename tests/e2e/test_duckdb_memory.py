"""End to end: a DuckDB load that holds the file open does not keep what it wrote in memory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines import livechat_reports
from pipelines.destination import held_open
from tests.e2e.conftest import Loader, at

TODAY = dt.date(2026, 11, 18)
DLT_THRESHOLD = "1GB"  # what dlt sets on every DuckDB connection it opens


def in_memory_after_incremental_load(
    emulator: Any, db: Path, name: str, threshold: str, monkeypatch: pytest.MonkeyPatch
) -> int:
    """Load a week, then the lookback again; return the bytes DuckDB holds in memory after.

    The test holds the file open around the second load (as `held_open` does inside it), so
    what the load left in memory can be read before the file is closed and checkpointed.
    """
    monkeypatch.setattr(livechat_reports, "DUCKDB_CHECKPOINT_THRESHOLD", threshold)
    loader = Loader(emulator, db, pipeline_name=name)
    loader.run(TODAY, start_date=TODAY - dt.timedelta(days=6))
    with held_open(str(db)):
        summary = loader.run(TODAY)
        assert summary.first_day == TODAY - dt.timedelta(days=3)  # the lookback, merged
        with duckdb.connect(str(db)) as connection:
            row = connection.execute(
                "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()"
                " WHERE tag = 'IN_MEMORY_TABLE'"
            ).fetchone()
            setting = connection.execute("SELECT current_setting('checkpoint_threshold')")
            shown = setting.fetchone()
    assert row is not None and shown is not None
    expected = duckdb.connect().execute(
        f"SET checkpoint_threshold = '{threshold}'; SELECT current_setting('checkpoint_threshold')"
    )
    assert shown == expected.fetchone()  # dlt's connections took the threshold given
    return int(row[0])


def test_an_incremental_load_held_open_checkpoints_what_it_writes(
    make_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Appending to tables that hold rows costs DuckDB a block per column in memory.

    With dlt's threshold all of them stay until the file is closed (tens of MB for one
    account); with ours DuckDB checkpoints as the load goes.
    """
    emulator = make_emulator(now=at(TODAY, 15))
    ours = livechat_reports.DUCKDB_CHECKPOINT_THRESHOLD
    kept = in_memory_after_incremental_load(
        emulator, tmp_path / "dlt.duckdb", "dlt_threshold", DLT_THRESHOLD, monkeypatch
    )
    left = in_memory_after_incremental_load(
        emulator, tmp_path / "ours.duckdb", "our_threshold", ours, monkeypatch
    )
    assert kept > 20 * 2**20, f"dlt's threshold kept only {kept} bytes: nothing to compare"
    assert left * 4 < kept, f"{left} bytes left in memory with {ours}, {kept} with dlt's"
