"""`python -m transforms.warm` (run by `make venv`): the first build on the machine skips dbt's parse."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from tests.e2e.conftest import at

ROOT = Path(__file__).resolve().parents[2]
FULL_PARSE = "Unable to do partial parsing because saved manifest not found"
SAVED_PARSE = "no changes found, skipping parsing"


def _load_and_read_dbt_log(folder: Path, monkeypatch: pytest.MonkeyPatch, *argv: str) -> str:
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("DLT_DATA_DIR", str(folder / "dlt"))
    days = ["--start-date", "2026-11-02", "--end-date", "2026-11-03"]
    assert main(["load", *days, "--reports", "chats_total_chats,chats_ratings", *argv]) == 0
    log = folder / "dlt" / "pipelines" / "livechat_reports" / "dbt" / "logs" / "dbt.log"
    return log.read_text(encoding="utf-8")


def test_a_warmed_parse_serves_the_first_build_of_a_file_of_the_default_name(
    make_emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    emulator = make_emulator(now=at(dt.date(2026, 11, 18), 6))
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID", "demo")
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN", "demo-pat")
    monkeypatch.setenv("SOURCES__LIVECHAT__BASE_URL", emulator.url)
    warmed = subprocess.run(
        [sys.executable, "-m", "transforms.warm"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(ROOT)},
    )
    assert "livechat.duckdb, livechat-demo.duckdb" in warmed.stdout
    assert len(list((cache / "livechat-reports" / "dbt-parse").glob("*.msgpack"))) == 2

    first = _load_and_read_dbt_log(tmp_path / "default", monkeypatch)
    assert SAVED_PARSE in first and FULL_PARSE not in first
    # The control: a file of another name has no saved parse, and dbt parses in full.
    other = _load_and_read_dbt_log(tmp_path / "other", monkeypatch, "--duckdb-file", "x.duckdb")
    assert FULL_PARSE in other and SAVED_PARSE not in other
