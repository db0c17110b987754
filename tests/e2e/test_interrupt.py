"""Ctrl-C during a load: one clear message, exit 130, and the next run ends as a clean one.

The command runs as a real process; SIGINT is sent once its log lines show the extract step
under way (the emulator answers slowly) or the load step started.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sources.livechat_emulator import Emulator, ReportsAPI
from sources.livechat_emulator.server import Switches
from tests.e2e.conftest import at

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 3, 3)
RANGE = ("--start-date", "2026-01-01", "--end-date", "2026-03-02")


def _command(emulator: Emulator, folder: Path) -> tuple[list[str], dict[str, str]]:
    folder.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DLT_DATA_DIR": str(folder / "dlt"),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID": "demo",
        "SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN": "demo-pat",
        "SOURCES__LIVECHAT__BASE_URL": emulator.url,
    }
    env.pop("DESTINATION__DUCKDB__CREDENTIALS", None)
    return [sys.executable, "-m", "pipelines.cli", "load", *RANGE, "--no-transform"], env


def _run(emulator: Emulator, folder: Path) -> subprocess.CompletedProcess[str]:
    argv, env = _command(emulator, folder)
    return subprocess.run(
        argv, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _interrupt(emulator: Emulator, folder: Path, step: str) -> tuple[int, str, str]:
    """Run the command and send it SIGINT in the middle of `step` (extract or load)."""
    argv, env = _command(emulator, folder)
    # As from a shell: pytest-xdist's workers ignore SIGINT, and a Python started with SIGINT
    # ignored keeps ignoring it (no KeyboardInterrupt), so the child gets the default back.
    process = subprocess.Popen(
        argv,
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stderr is not None
    before = []
    for line in process.stderr:
        before.append(line)
        if step == "extract" and "requests for 2026-01-01..2026-03-02" in line:
            time.sleep(0.5)  # a report finished, the others are under way
            break
        if step == "load" and " load: started" in line:
            # Once a load job has completed, dlt's job pool runs (and the file has rows).
            jobs = folder / "dlt" / "pipelines" / "livechat_reports" / "load" / "normalized"
            deadline = time.monotonic() + 60
            while not any(jobs.glob("*/completed_jobs/*")) and time.monotonic() < deadline:
                time.sleep(0.01)
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=300)
    return process.returncode, out, "".join(before) + err


def _tables(folder: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every loaded table's rows without dlt's columns, sorted; not the records of each load
    (the lineage and account_loads: an interrupted run and its finisher are two loads)."""
    db = duckdb.connect(str(folder / "livechat.duckdb"), read_only=True)
    try:
        names = [
            r[0]
            for r in db.execute(
                "select table_name from information_schema.tables"
                " where table_schema = 'livechat_reports' and table_type = 'BASE TABLE'"
                " and table_name not like '\\_dlt%' escape '\\'"
                " and table_name not in ('report_requests', 'account_loads')"
            ).fetchall()
        ]
        found = {}
        for name in sorted(names):
            cursor = db.execute(f"select * from livechat_reports.{name}")
            columns = [d[0] for d in cursor.description or []]
            keep = [i for i, c in enumerate(columns) if not c.startswith("_dlt")]
            found[name] = sorted(
                (tuple(row[i] for i in keep) for row in cursor.fetchall()), key=repr
            )
        return found
    finally:
        db.close()


@pytest.mark.parametrize(
    ("step", "latency_ms", "message"),
    [
        (
            "extract",
            100.0,
            [
                "Interrupted during the extract step: nothing of this run reached the destination"
                " and the state is unchanged. The next `livechat-reports load` requests these"
                " days again."
            ],
        ),
        (
            "load",
            0.0,
            [
                "Interrupted during the load step.",
                "Committed before the interrupt: ",
                "The next `livechat-reports load` finishes this package first (its days are"
                " replaced, nothing is doubled), then loads new data.",
            ],
        ),
    ],
)
def test_ctrl_c_says_what_was_committed_exits_130_and_the_next_run_ends_as_a_clean_one(
    tmp_path: Path, step: str, latency_ms: float, message: list[str]
) -> None:
    """Before: `The extract step failed: KeyboardInterrupt ...` (exit 1), and in the load step
    dlt's own `run_pool` warning before a failure message."""
    with Emulator(ReportsAPI(now=at(TODAY, 20)), Switches(latency_ms=latency_ms)) as emulator:
        code, out, err = _interrupt(emulator, tmp_path / "interrupted", step)
        assert code == 130, err[-3000:]
        assert out == ""
        tail = err.rstrip("\n").splitlines()[-len(message) :]
        for line, want in zip(tail, message, strict=True):
            assert line.startswith(want), err[-3000:]
        for raw in ("Traceback", "KeyboardInterrupt", "WARNING", "run_pool", "signal"):
            assert raw not in err, err[-3000:]

        emulator.switches = Switches()  # the next runs at full speed
        again = _run(emulator, tmp_path / "interrupted")
        assert again.returncode == 0, again.stderr[-3000:]
        finished = "finished 1 package(s) of an interrupted run first" in again.stdout
        assert finished is (step == "load"), again.stdout
        clean = _run(emulator, tmp_path / "clean")
        assert clean.returncode == 0, clean.stderr[-3000:]
    assert _tables(tmp_path / "interrupted") == _tables(tmp_path / "clean")
