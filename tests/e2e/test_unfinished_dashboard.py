"""The dashboard after an interrupted load: it says the load is unfinished, not "load first".

A load killed in its load step (tests/e2e/crash_driver.py) leaves rows that `_dlt_loads` does
not list; the views leave out every day it touched, so a load that touched every day leaves
kpi_daily empty. The page cannot be built, and the message sends the reader to the next load.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from tests.e2e.conftest import Loader, at

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 11, 18)
FIRST, LAST = dt.date(2026, 10, 5), dt.date(2026, 10, 11)
REPORTS = ["chats_total_chats", "chats_ratings"]


def _killed_load(loader: Loader, jobs: int) -> None:
    """Run the same backfill in another process and SIGKILL it after `jobs` load jobs."""
    options = {
        "db": loader.db,
        "pipeline_name": loader.pipeline.pipeline_name,
        "base_url": loader.emulator.url,
        "today": str(TODAY),
        "reports": REPORTS,
        "start_date": str(FIRST),
        "end_date": str(LAST),
        "backfill": True,
    }
    killed = subprocess.run(
        [sys.executable, "-m", "tests.e2e.crash_driver", "load", str(jobs), json.dumps(options)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]


def _dashboard(loader: Loader, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    out = tmp_path / "page.html"
    code = main(["dashboard", "--duckdb-file", loader.db, "--out", str(out)])
    return code, capsys.readouterr(), out


def test_a_dataset_whose_every_day_an_unfinished_load_touched_says_the_load_is_unfinished(
    make_emulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: `has no rows in kpi_daily yet: load some days first`."""
    loader = Loader(make_emulator(now=at(TODAY)), tmp_path / "lc.duckdb")
    options = {"start_date": FIRST, "end_date": LAST, "backfill": True, "reports": REPORTS}
    loader.run(TODAY, transform=True, **options)
    assert _dashboard(loader, tmp_path, capsys)[0] == 0
    # eight load jobs (account_loads, lineage, a copy and a merge per report table and for
    # account_cursors): die after seven
    _killed_load(loader, 7)
    unfinished = loader.query(
        "select distinct report_date from lr.stg_livechat__unfinished_loads"
        " where report_date is not null"
    )
    assert len(unfinished) == 7
    assert loader.query("select * from lr.kpi_daily") == []

    (tmp_path / "page.html").unlink()
    code, captured, page = _dashboard(loader, tmp_path, capsys)
    assert code == 2 and not page.exists()
    assert captured.err.strip() == (
        "Dataset `livechat_reports` has no rows in kpi_daily to show. The last load into dataset"
        " `livechat_reports` is unfinished: the views leave out every day it touched (7 days)"
        " until it finishes, and the next `livechat-reports load` finishes it. Then run the"
        " dashboard again."
    )
    assert "load some days first" not in captured.err

    loader.run(TODAY, transform=True, **options)  # finishes the package
    code, captured, page = _dashboard(loader, tmp_path, capsys)
    assert code == 0 and page.exists() and "unfinished" not in captured.err


def test_a_first_load_that_never_finished_says_so_instead_of_load_first(
    make_emulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No view was built yet: the tables hold rows of a load `_dlt_loads` does not list."""
    loader = Loader(make_emulator(now=at(TODAY)), tmp_path / "lc.duckdb")
    _killed_load(loader, 7)
    code, captured, _ = _dashboard(loader, tmp_path, capsys)
    assert code == 2
    assert "its last load is unfinished" in captured.err, captured.err
    assert "the next `livechat-reports load` finishes it and builds them" in captured.err


def test_a_partly_hidden_dataset_is_drawn_with_a_note(
    make_emulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unfinished load that touched some days: the page is written, stderr says why days
    are missing."""
    loader = Loader(make_emulator(now=at(TODAY)), tmp_path / "lc.duckdb")
    loader.run(TODAY, transform=True, start_date=FIRST - dt.timedelta(days=7), end_date=LAST,
               backfill=True, reports=REPORTS)  # fmt: skip
    _killed_load(loader, 7)
    code, captured, page = _dashboard(loader, tmp_path, capsys)
    assert code == 0 and page.exists()
    assert captured.err.strip() == (
        "Note: The last load into dataset `livechat_reports` is unfinished: the views leave out"
        " every day it touched (7 days) until it finishes, and the next `livechat-reports load`"
        " finishes it."
    )
