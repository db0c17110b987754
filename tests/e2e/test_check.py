"""`livechat-reports check`: one request proves credentials, scope and URL, and writes nothing."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from sources.livechat_emulator import Switches
from tests.conftest import call, window
from tests.e2e.conftest import at

TOKEN = "s3cr3t-pat-1a2b3c"
UNSCOPED = "unscoped-oauth-4d5e6f"


@pytest.fixture
def emulator(make_emulator: Any) -> Any:
    today = dt.datetime.now(dt.timezone.utc).date()
    return make_emulator(now=at(today, 18), personal_access_token=TOKEN, unscoped_token=UNSCOPED)


def env_for(monkeypatch: pytest.MonkeyPatch, base_url: str, token: str = TOKEN) -> None:
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID", "demo")
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN", token)
    monkeypatch.setenv("SOURCES__LIVECHAT__BASE_URL", base_url)


def written(tmp_path: Path) -> list[str]:
    """Everything under the working folder, which is also where DLT_DATA_DIR points."""
    return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))


def chats_today(emulator: Any) -> int:
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    body = {"filters": window(today, today), "timezone": "UTC", "distribution": "day"}
    answer = call(emulator, "chats/total_chats", body, auth=("demo", TOKEN)).json()
    return int(answer["records"][today].get("total", 0))


def test_check_names_account_url_and_version_and_writes_nothing(
    emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    env_for(monkeypatch, emulator.url)
    assert main(["check"]) == 0
    out, err = capsys.readouterr()
    assert emulator.stats.requests == {"chats/total_chats": 1}
    assert written(tmp_path) == []  # no pipeline, no DuckDB file, no state, no DLT_DATA_DIR
    url = f"{emulator.url}/v3.6/reports/chats/total_chats"
    assert f"Connection OK: account demo can read reports from {url} (Reports API v3.6)." in out
    today = dt.datetime.now(dt.timezone.utc).date()
    expected = chats_today(emulator)
    assert expected > 0
    assert f"{today} in UTC: {expected} chats;" in out
    assert TOKEN not in out + err


def test_check_reads_dlt_config_files_and_the_options_override_them(
    emulator: Any, tmp_path: Path
) -> None:
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "secrets.toml").write_text(
        f'[sources.livechat.credentials]\naccount_id = "demo"\npersonal_access_token = "{TOKEN}"\n'
    )
    (tmp_path / ".dlt" / "config.toml").write_text(
        '[sources.livechat]\nbase_url = "http://127.0.0.1:9"\ntimezone = "Pacific/Kiritimati"\n'
    )
    overridden = command(tmp_path, "check", "--base-url", emulator.url)
    assert overridden.returncode == 0, overridden.stderr
    assert (
        f"can read reports from {emulator.url}/v3.6/reports/chats/total_chats" in overridden.stdout
    )
    assert " in Pacific/Kiritimati: " in overridden.stdout  # the timezone came from config.toml
    assert emulator.stats.total() == 1
    configured = command(tmp_path, "check", "--timezone", "Europe/Warsaw")
    assert configured.returncode == 1  # config.toml's base_url, where nothing listens
    assert "no answer from http://127.0.0.1:9/v3.6/reports/chats/total_chats" in configured.stderr
    assert TOKEN not in overridden.stdout + overridden.stderr + configured.stderr
    assert written(tmp_path) == [".dlt", ".dlt/config.toml", ".dlt/secrets.toml"]


def command(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run `livechat-reports` in `cwd`, where dlt finds `.dlt/` as it does for a user."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_wrong_token_exits_1_with_the_api_error_and_what_to_check(
    emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    env_for(monkeypatch, emulator.url, token="wrong-token-777")
    assert main(["check"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "HTTP 401 authentication: Invalid access token" in err
    assert "check `account_id` and `personal_access_token`" in err
    assert "wrong-token-777" not in err
    assert emulator.stats.total() == 1  # not retried
    assert written(tmp_path) == []


def test_a_token_without_reports_read_exits_1_naming_the_scope(
    emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID", "demo")
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__ACCESS_TOKEN", UNSCOPED)
    assert main(["check", "--base-url", emulator.url]) == 1
    err = capsys.readouterr().err
    assert "HTTP 403 authorization: Missing required scope: reports_read" in err
    assert "the token lacks the `reports_read` scope" in err
    assert UNSCOPED not in err
    assert emulator.stats.statuses == {403: 1}
    assert written(tmp_path) == []


def test_an_unreachable_api_exits_1_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free once closed: nothing listens there
    env_for(monkeypatch, f"http://127.0.0.1:{port}")
    started = time.monotonic()
    assert main(["check"]) == 1
    assert time.monotonic() - started < 5  # one attempt, no retry backoff
    err = capsys.readouterr().err
    assert f"no answer from http://127.0.0.1:{port}/v3.6/reports/chats/total_chats" in err
    assert "Check `base_url`" in err
    assert written(tmp_path) == []


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("malformed", "answered HTTP 200: the answer is not valid JSON (truncated?): <html>"),
        ("503", "answered HTTP 503 service_unavailable"),
    ],
)
def test_an_odd_answer_exits_1_after_one_request(
    make_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fault: str,
    words: str,
) -> None:
    emulator = make_emulator(personal_access_token=TOKEN, switches=Switches(faults={fault: 1.0}))
    env_for(monkeypatch, emulator.url)
    assert main(["check"]) == 1
    err = capsys.readouterr().err
    assert words in err
    assert emulator.stats.total() == 1


@pytest.mark.parametrize(
    ("unset", "argv", "words"),
    [
        ("SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN", [], "Missing configuration"),
        ("SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID", [], "Missing configuration"),
        (None, ["--base-url", "http://example.com"], "plain http to a non-loopback host"),
        (None, ["--base-url", "ftp://example.com"], "must be an http(s) URL"),
        (None, ["--timezone", "Europe/Atlantis"], "Unknown timezone `Europe/Atlantis`"),
    ],
)
def test_bad_configuration_exits_2_before_any_request(
    emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    unset: str | None,
    argv: list[str],
    words: str,
) -> None:
    env_for(monkeypatch, emulator.url)
    if unset:
        monkeypatch.delenv(unset)
    assert main(["check", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert TOKEN not in err
    assert emulator.stats.total() == 0
    assert written(tmp_path) == []


@pytest.mark.parametrize(
    ("setting", "value", "words"),
    [
        ("API_VERSION", "latest", "`api_version` must look like 3.6; got `latest`"),
        ("REQUEST_TIMEOUT", "0", "`request_timeout` must be more than 0 seconds"),
    ],
)
def test_bad_settings_from_the_environment_exit_2(
    emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setting: str,
    value: str,
    words: str,
) -> None:
    env_for(monkeypatch, emulator.url)
    monkeypatch.setenv(f"SOURCES__LIVECHAT__{setting}", value)
    assert main(["check"]) == 2
    assert words in capsys.readouterr().err
    assert emulator.stats.total() == 0
