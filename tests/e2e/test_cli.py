"""The `livechat-reports` command: exit codes, messages, summaries, secrets kept out of output."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from sources.livechat_emulator import Switches
from tests.e2e.conftest import at

TOKEN = "s3cr3t-pat-9f8e7d"


def env_for(emulator: Any, monkeypatch: pytest.MonkeyPatch, token: str = TOKEN) -> None:
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID", "demo")
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN", token)
    monkeypatch.setenv("SOURCES__LIVECHAT__BASE_URL", emulator.url)
    monkeypatch.setenv("SOURCES__LIVECHAT__BACKOFF_SECONDS", "0")


@pytest.fixture
def emulator(make_emulator: Any) -> Any:
    today = dt.datetime.now(dt.timezone.utc).date()
    return make_emulator(now=at(today, 0) + 3600 * 6, personal_access_token=TOKEN)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--start-date", "2026-03-10", "--end-date", "2026-03-01"], "after `end_date`"),
        (["--reports", "chats_totals"], "Unknown report `chats_totals`"),
        (["--timezone", "Europe/Atlantis"], "Unknown timezone `Europe/Atlantis`"),
        (["--distribution", "weekly"], "Unknown distribution `weekly`"),
        (["--window-days", "0"], "`window_days` must be a whole number of at least 1"),
        (["--lookback-days", "-1"], "`lookback_days` must be"),
        (["--max-concurrency", "0"], "`max_concurrency` must be a whole number of at least 1"),
        (["--base-url", "http://example.com"], "plain http to a non-loopback host"),
    ],
)
def test_bad_input_exits_2_before_any_request(
    emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    words: str,
) -> None:
    env_for(emulator, monkeypatch)
    assert main(["load", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err
    assert "Traceback" not in err
    assert emulator.stats.total() == 0


def test_unparseable_date_exits_2(emulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["load", "--start-date", "2026-02-30"])
    assert exit_.value.code == 2
    assert "expected a date like 2024-01-31, got `2026-02-30`" in capsys.readouterr().err
    assert emulator.stats.total() == 0


@pytest.mark.parametrize(
    "missing",
    [
        "SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN",
        "SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID",
    ],
)
def test_half_given_credentials_exit_2(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], missing: str
) -> None:
    env_for(emulator, monkeypatch)
    monkeypatch.delenv(missing)
    assert main(["load"]) == 2
    err = capsys.readouterr().err
    assert "Missing configuration" in err and "secrets.toml" in err
    assert emulator.stats.total() == 0


def test_load_prints_a_summary_and_never_the_token(
    emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    env_for(emulator, monkeypatch)
    assert main(["load", "--reports", "chats_total_chats,chats_tags", "--lookback-days", "2"]) == 0
    out, err = capsys.readouterr()
    assert "requests:" in out and "chats_total_chats" in out
    assert TOKEN not in out + err
    assert (tmp_path / "livechat.duckdb").exists()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".duckdb" for p in written) and len(written) > 5
    for path in written:
        assert TOKEN.encode() not in path.read_bytes(), path


def test_wrong_token_exits_1_with_the_api_error(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env_for(emulator, monkeypatch, token="wrong-token-123")
    assert main(["load", "--reports", "chats_total_chats"]) == 1
    err = capsys.readouterr().err
    assert "HTTP 401 authentication: Invalid access token" in err
    assert "chats/total_chats" in err and "personal_access_token" in err
    assert "wrong-token-123" not in err
    assert emulator.stats.total() == 1  # not retried


def test_exhausted_retries_exit_1_naming_report_and_window(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env_for(emulator, monkeypatch)
    monkeypatch.setenv("SOURCES__LIVECHAT__MAX_ATTEMPTS", "3")
    emulator.switches = Switches(faults={"500": 1.0})
    assert (
        main(
            [
                "load",
                "--reports",
                "chats_ratings",
                "--start-date",
                "2026-01-05",
                "--end-date",
                "2026-01-06",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert (
        "chats/ratings for 2026-01-05..2026-01-06 failed after 3 attempts: HTTP 500 internal" in err
    )
    assert emulator.stats.total() == 3


def test_module_entry_point_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "load" in done.stdout and "demo" in done.stdout


def test_a_second_load_of_the_same_pipeline_is_refused(
    make_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    emulator = make_emulator(
        now=at(today, 0) + 3600 * 6, personal_access_token=TOKEN, switches=Switches(latency_ms=40)
    )
    env_for(emulator, monkeypatch)
    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "load",
            "--reports",
            "chats_ranking,agents_performance",
            "--max-concurrency",
            "1",
            "--no-transform",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while emulator.stats.total() < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert emulator.stats.total() >= 3, "the first load never started"
        assert main(["load", "--reports", "tags_chat_usage"]) == 1
        err = capsys.readouterr().err
        assert "Another load of pipeline `livechat_reports` is running (pid" in err
        assert "Wait for it to finish" in err
    finally:
        _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err[-2000:]
    assert emulator.stats.requests["tags/chat_usage"] == 0  # refused before any request
    assert (
        main(["load", "--reports", "chats_ranking", "--no-transform"]) == 0
    )  # the lock was released
