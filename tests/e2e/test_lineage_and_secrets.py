"""Lineage reconciles with the API's totals; tokens never reach output, logs, traces or files."""

from __future__ import annotations

import base64
import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from sources.livechat_emulator import Switches
from tests.e2e.conftest import Loader, at

TODAY = dt.date(2026, 11, 18)
ADDITIVE = {"chats_total_chats": "total", "chats_duration": "count", "chats_ratings": "chats"}


def test_loaded_days_add_up_to_each_requests_total(make_emulator: Any, tmp_path: Path) -> None:
    loader = Loader(make_emulator(now=at(TODAY)), tmp_path / "lc.duckdb")
    loader.run(
        TODAY,
        start_date=dt.date(2026, 9, 1),
        end_date=dt.date(2026, 9, 20),
        backfill=True,
        window_days=7,
        reports=sorted(ADDITIVE),
    )
    requests = loader.query("select * from lr.report_requests order by table_name, window_from")
    assert len(requests) == 3 * 3  # 20 days in 7-day windows, per report
    for request in requests:
        column = ADDITIVE[request["table_name"]]
        rows = loader.query(
            f"select sum({column}) as s from lr.{request['table_name']} where report_date between %s and %s",
            request["window_from"],
            request["window_to"],
        )
        assert rows[0]["s"] == request["response_total"] > 0, request
        assert request["http_status"] == 200 and request["attempts"] == 1
        assert request["timezone"] == "UTC" and request["distribution"] == "day"


PAT = "pat-0123456789abcdef"
OAUTH = "dal:oauth-fedcba9876543210"
# what a leaked Basic header would show instead of the token itself
BASIC = base64.b64encode(f"demo:{PAT}".encode()).decode()
TOKENS = (PAT, OAUTH, BASIC)


def secrets_in(tmp_path: Path, texts: list[str]) -> list[str]:
    """Where either token shows up: in the given texts or in any file under tmp_path."""
    found = [f"text #{i}" for i, text in enumerate(texts) for token in TOKENS if token in text]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [str(path) for token in TOKENS if token.encode() in data]
    return found


@pytest.mark.parametrize("outcome", ["success", "api_failure", "unauthorized"])
@pytest.mark.parametrize("kind", ["pat", "oauth"])
def test_tokens_never_leave_the_process(
    make_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    kind: str,
    outcome: str,
) -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    faults = {"500": 1.0} if outcome == "api_failure" else {}
    emulator = make_emulator(
        now=at(today, 0) + 6 * 3600,
        personal_access_token=PAT,
        bearer_token=OAUTH,
        switches=Switches(faults=faults),
    )
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID", "demo")
    wrong = outcome == "unauthorized"
    if kind == "pat":
        monkeypatch.setenv(
            "SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN", PAT[::-1] if wrong else PAT
        )
    else:
        monkeypatch.setenv(
            "SOURCES__LIVECHAT__CREDENTIALS__ACCESS_TOKEN", OAUTH[::-1] if wrong else OAUTH
        )
    monkeypatch.setenv("SOURCES__LIVECHAT__BASE_URL", emulator.url)
    monkeypatch.setenv("SOURCES__LIVECHAT__BACKOFF_SECONDS", "0")
    monkeypatch.setenv("SOURCES__LIVECHAT__MAX_ATTEMPTS", "2")
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    code = main(
        ["--debug", "load", "--reports", "chats_total_chats,chats_ranking", "--lookback-days", "2"]
    )
    assert code == {"success": 0, "api_failure": 1, "unauthorized": 1}[outcome]
    out, err = capsys.readouterr()
    texts = [out, err, caplog.text]
    loader = Loader(emulator, tmp_path / "livechat.duckdb")
    if loader.pipeline.last_trace is not None:
        texts.append(repr(loader.pipeline.last_trace.asdict()))
    assert not secrets_in(tmp_path, texts)
    assert len(list(tmp_path.rglob("*"))) > 5  # the search had files to look at
    if outcome != "success":
        assert "chats/" in err and ("HTTP 500" in err or "HTTP 401" in err)


DB_PASSWORD = "pg-s3cret-7f3a9c51"


def test_the_database_password_reaches_dbt_only_through_its_environment(
    make_emulator: Any,
    postgres_url: str | None,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """dbt gets the password in its own process's environment: never printed, logged or written."""
    import os

    from tests.e2e.conftest import POSTGRES_SKIP
    from tests.postgres import create_database

    if postgres_url is None:
        pytest.skip(f"PostgreSQL unavailable: {POSTGRES_SKIP[0] if POSTGRES_SKIP else 'unknown'}")
    user, rest = create_database(postgres_url, "livechat_secret").split("@", 1)
    # the test server trusts loopback, so any password connects; it must still never leak
    url = f"{user.rsplit(':', 1)[0]}:{DB_PASSWORD}@{rest}"
    caplog.set_level(logging.DEBUG)
    loader = Loader(make_emulator(now=at(TODAY)), tmp_path / "unused.duckdb", postgres=url)
    summary = loader.run(
        TODAY,
        start_date=dt.date(2026, 11, 1),
        end_date=dt.date(2026, 11, 7),
        backfill=True,
        reports=["chats_total_chats"],
        transform=True,
    )
    assert summary.transform is not None and "kpi_daily" in summary.transform.built
    out, err = capsys.readouterr()
    assert DB_PASSWORD not in out + err + caplog.text
    assert not any(DB_PASSWORD in value for value in os.environ.values())
    dbt_files = [p for p in (tmp_path / "dlt").rglob("*") if p.is_file() and "dbt" in p.parts]
    assert dbt_files, "dbt's target and logs are in the pipeline's working directory"
    for path in dbt_files:
        assert DB_PASSWORD.encode() not in path.read_bytes(), path


def test_a_netrc_entry_for_the_api_host_does_not_replace_the_accounts_token(
    make_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests would otherwise put the .netrc login into the Authorization header of every
    # request that has no `auth`, replacing the account's token: the load would fail with 401
    # (or, against the real API, send another account's credentials).
    emulator = make_emulator(now=at(TODAY))
    (tmp_path / ".netrc").write_text("machine 127.0.0.1 login someone password other-secret\n")
    (tmp_path / ".netrc").chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    loader = Loader(emulator, tmp_path / "lc.duckdb")
    loader.run(TODAY, reports=["chats_total_chats"], start_date=TODAY - dt.timedelta(days=2))
    assert emulator.stats.statuses_by_account and all(
        set(statuses) == {200} for statuses in emulator.stats.statuses_by_account.values()
    )
    assert loader.query("select count(*) as n from lr.chats_total_chats")[0]["n"] == 3
