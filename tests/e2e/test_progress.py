"""Progress of `livechat-reports load`: log lines off a terminal, a live bar on one, real row counts."""

from __future__ import annotations

import datetime as dt
import fcntl
import itertools
import logging
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines import progress
from pipelines.cli import main
from sources.livechat_emulator import Switches
from tests.e2e.conftest import at

TOKEN = "progress-pat-1234"
ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(
    r"^(?P<step>\w+): (?:(?P<state>started|running for \S+), )?"
    r"(?:(?P<done>\d+)/(?P<planned>\d+) requests \((?P<retried>\d+) retried\),"
    r" (?P<rows>[\d,]+) rows, )?(?P<elapsed>\d\S*) elapsed(?:, ETA (?P<eta>\S+))?$"
)
BAR = re.compile(
    r"extract: +(\d+)%\|[^|]*\| (\d+)/(\d+) requests \[[^\]]*?(?:, ([\d,]+) rows[^\]]*)?\]"
)


@dataclass
class Line:
    step: str
    state: str | None
    done: int | None
    planned: int | None
    retried: int | None
    rows: int | None
    created: float


def _number(text: str | None) -> int | None:
    return int(text.replace(",", "")) if text is not None else None


def progress_lines(records: list[logging.LogRecord]) -> list[Line]:
    lines = []
    for record in records:
        match = LINE.match(record.getMessage())
        if match is None:
            continue
        g = match.groupdict()
        lines.append(
            Line(
                g["step"], g["state"], _number(g["done"]), _number(g["planned"]),
                _number(g["retried"]), _number(g["rows"]), record.created,
            )
        )  # fmt: skip
    return lines


def env_for(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID", "demo")
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("SOURCES__LIVECHAT__BASE_URL", emulator.url)
    monkeypatch.setenv("SOURCES__LIVECHAT__BACKOFF_SECONDS", "0")


def summary_rows(out: str) -> tuple[int, dict[str, int]]:
    """The total of `Loaded N rows` and the per-table lines of the closing summary."""
    total = int(re.search(r"^Loaded (\d+) rows", out, re.M).group(1))  # type: ignore[union-attr]
    tables = {m[1]: int(m[2]) for m in re.finditer(r"^  (\w+) +(\d+)$", out, re.M)}
    return total, tables


def table_counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables"
                " where table_schema = 'livechat_reports' and table_type = 'BASE TABLE'"
                " and table_name not like '\\_dlt%' escape '\\'"
            ).fetchall()
        ]
        return {
            n: con.execute(f"select count(*) from livechat_reports.{n}").fetchall()[0][0]
            for n in names
        }


TODAY = dt.datetime.now(dt.timezone.utc).date()


def days_ago(n: int) -> str:
    return str(TODAY - dt.timedelta(days=n))


def test_log_lines_count_the_plan_every_request_and_retry(
    make_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    emulator = make_emulator(
        now=at(TODAY, 0) + 3600 * 6,
        personal_access_token=TOKEN,
        switches=Switches(latency_ms=30, faults={"500": 0.15}, fault_seed=3),
    )
    env_for(emulator, monkeypatch)
    monkeypatch.setattr(progress, "LOG_INTERVAL_SECONDS", 0.2)
    caplog.set_level(logging.INFO, logger="livechat_reports")
    argv = ["load", "--reports", "chats_total_chats,chats_ranking,chats_queued_visitors_left"]
    argv += ["--start-date", days_ago(20), "--end-date", days_ago(11), "--max-concurrency", "2"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    lines = progress_lines(caplog.records)
    steps = [(line.step, line.state) for line in lines if line.state == "started"]
    assert steps == [
        (s, "started") for s in ("prepare", "extract", "normalize", "load", "transform")
    ]
    periodic = [line for line in lines if line.state is None and line.step == "extract"]
    assert len(periodic) >= 2, [r.getMessage() for r in caplog.records]

    final = next(line for line in lines if line.step == "normalize")
    total = emulator.stats.total()
    # pages answered, not requests sent: a page that failed and was retried is one page
    pages = emulator.stats.statuses_by_report["chats/queued_visitors_left"][200]
    assert pages >= 10  # one page per day at least
    # the plan: one 31-day window of total_chats, one request per day of ranking, the pages
    assert final.planned == 1 + 10 + pages
    assert final.done == final.planned
    assert final.retried == total - final.planned and final.retried > 0
    assert emulator.stats.statuses[500] == final.retried
    # the counts only grow, and never pass the plan
    dones = [line.done for line in lines if line.done is not None]
    assert dones == sorted(dones) and all(
        line.done <= line.planned for line in lines if line.done is not None
    )
    loaded, _ = summary_rows(out)
    assert final.rows == loaded == sum(table_counts(tmp_path / "livechat.duckdb").values())
    assert f"requests: {total} ({final.retried} retried)" in out
    assert "%|" not in err  # no bar off a terminal


def test_a_line_appears_while_no_request_completes(
    make_emulator: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = make_emulator(
        now=at(TODAY, 0) + 3600 * 6,
        personal_access_token=TOKEN,
        switches=Switches(latency_ms=2000),
    )
    env_for(emulator, monkeypatch)
    monkeypatch.setattr(progress, "LOG_INTERVAL_SECONDS", 0.2)
    caplog.set_level(logging.INFO, logger="livechat_reports")
    day = days_ago(3)
    argv = ["load", "--reports", "chats_total_chats", "--start-date", day, "--end-date", day]
    assert main(argv) == 0
    lines = progress_lines(caplog.records)
    waiting = [line for line in lines if line.step == "extract" and line.state is None]
    # the one answer takes 2 s: the timer reports the wait several times
    assert len([line for line in waiting if line.done == 0 and line.planned == 1]) >= 4
    gaps = [b.created - a.created for a, b in itertools.pairwise(lines)]
    assert max(gaps) < 1.0, gaps
    assert not [t for t in threading.enumerate() if t.name == "livechat-progress"]


def test_the_summary_counts_real_rows_not_placeholders(
    make_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # No data before the license started: every dimension table gets only its placeholder row.
    emulator = make_emulator(
        now=at(TODAY, 0) + 3600 * 6,
        personal_access_token=TOKEN,
        license_start=TODAY - dt.timedelta(days=5),
    )
    env_for(emulator, monkeypatch)
    reports = "chats_total_chats,chats_tags,chats_ranking,chats_forms,chats_queued_visitors_left"
    argv = ["load", "--reports", reports, "--start-date", days_ago(20), "--end-date", days_ago(18)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    loaded, tables = summary_rows(out)
    in_destination = table_counts(tmp_path / "livechat.duckdb")
    assert tables == in_destination
    assert loaded == sum(in_destination.values())
    assert in_destination["chats_total_chats"] == 3  # a row per day, its metrics null
    for table in ("chats_tags", "chats_ranking", "chats_forms", "chats_form_answers"):
        assert tables[table] == 0, table
    assert tables["report_requests"] == emulator.stats.total()


def _read_all(fd: int, chunks: list[bytes]) -> None:
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return
        if not data:
            return
        chunks.append(data)


def test_on_a_terminal_a_live_bar_shows_requests_rows_and_eta(
    make_emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    emulator = make_emulator(
        now=at(TODAY, 0) + 3600 * 6,
        personal_access_token=TOKEN,
        switches=Switches(latency_ms=50),
    )
    env_for(emulator, monkeypatch)
    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    argv = ["load", "--reports", "chats_total_chats,chats_ranking"]
    argv += ["--start-date", days_ago(20), "--end-date", days_ago(9), "--max-concurrency", "1"]
    child = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *argv],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
        text=True,
    )
    os.close(terminal)
    chunks: list[bytes] = []
    reader = threading.Thread(target=_read_all, args=(master, chunks))
    reader.start()
    out, _ = child.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(master)
    screen = b"".join(chunks).decode()
    assert child.returncode == 0, screen[-2000:]
    states = [m.groups() for m in BAR.finditer(screen)]
    assert states, screen[-2000:]
    total = emulator.stats.total()
    assert total == 1 + 12
    percent, done, planned, rows = states[-1]
    assert (percent, int(done), int(planned)) == ("100", total, total)
    loaded, _ = summary_rows(out)
    assert int(rows.replace(",", "")) == loaded
    assert len({s[1] for s in states}) >= 3  # the bar moved while the requests ran
    # the estimate of the time left, tqdm's `<remaining`, is on the bar
    assert re.search(r"\[00:0\d<00:0\d", screen)
    for step in ("normalize", "load"):
        assert re.search(rf"(^|[\r\n]){step}: 00:\d\d", screen), step
    assert "chats_ranking: 12 requests" in screen  # log lines still shown, above the bar
    assert "Loaded " in out and "%|" not in out
