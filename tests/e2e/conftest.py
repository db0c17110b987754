"""End-to-end fixtures: the real pipeline, the emulator over loopback HTTP, a temporary DuckDB."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.cursor_record import recorded_cursors
from pipelines.livechat_reports import LoadSummary, build_pipeline, run_load
from sources.livechat.credentials import PersonalAccessTokenCredentials
from sources.livechat.options import LoadOptions
from sources.livechat_emulator import Emulator, ReportsAPI
from tests.postgres import PostgresUnavailable, create_database, postgres_server


@pytest.fixture(autouse=True)
def isolated_dlt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep dlt's working dirs, config lookup and telemetry inside the test's temp dir."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "WARNING")
    yield


def credentials(account: str = "demo", token: str = "demo-pat") -> PersonalAccessTokenCredentials:
    creds = PersonalAccessTokenCredentials()
    creds.account_id, creds.personal_access_token = account, token
    return creds


class Loader:
    """Runs loads of one pipeline into one destination against one emulator.

    `db` is the DuckDB file; with `postgres` (a database URL) the loads go there instead.
    """

    def __init__(
        self,
        emulator: Emulator,
        db: Path,
        pipeline_name: str = "livechat_reports",
        postgres: str | None = None,
    ) -> None:
        self.emulator = emulator
        self.db = str(db)
        self.destination = "postgres" if postgres else "duckdb"
        self.pipeline = build_pipeline(
            pipeline_name, self.destination, "livechat_reports", self.db, credentials=postgres
        )

    def query(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        """Run SQL on the destination (`lr.` names the dataset) and return rows as dicts."""
        sql = sql.replace("lr.", "livechat_reports.")
        with self.pipeline.sql_client() as client, client.execute_query(sql, *params) as cursor:
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def run(self, today: dt.date, **options: Any) -> LoadSummary:
        options.setdefault("credentials", credentials())
        options.setdefault("base_url", self.emulator.url)
        options.setdefault("backoff_seconds", 0.0)
        transform = options.pop("transform", False)
        return run_load(self.pipeline, LoadOptions(today=today, **options), transform=transform)

    def state(self, account_id: str = "demo") -> dict[str, str]:
        """Each report's last loaded day of the account, as the dataset records it."""
        return {
            name: state["last_loaded_day"]
            for name, state in recorded_cursors(self.pipeline, [account_id])
            .get(account_id, {})
            .items()
            if state.get("last_loaded_day")
        }


def at(day: dt.date, hour: int = 12) -> float:
    return dt.datetime.combine(day, dt.time(hour), dt.timezone.utc).timestamp()


def rehearse(api: Any, monkeypatch: pytest.MonkeyPatch, when: float) -> None:
    """Set the emulator's clock and the command's (LIVECHAT_REPORTS_NOW) to the same instant.

    A test that leaves the command on the real clock depends on the hour it runs: near
    midnight UTC an account in another timezone is already on the next day.
    """
    api.now = when
    instant = dt.datetime.fromtimestamp(when, dt.timezone.utc)
    monkeypatch.setenv("LIVECHAT_REPORTS_NOW", instant.isoformat())


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """The URL of a PostgreSQL server for the session, or None (the reason in POSTGRES_SKIP)."""
    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailable as e:
        POSTGRES_SKIP.append(str(e))
        yield None


POSTGRES_SKIP: list[str] = []
_databases = iter(range(1, 1_000_000))


@pytest.fixture(params=["duckdb", "postgres"])
def destination(request: pytest.FixtureRequest, postgres_url: str | None) -> str | None:
    """Parametrize a test over DuckDB (None) and a fresh PostgreSQL database (its URL)."""
    if request.param == "duckdb":
        return None
    if postgres_url is None:
        pytest.skip(f"PostgreSQL unavailable: {POSTGRES_SKIP[0] if POSTGRES_SKIP else 'unknown'}")
    return create_database(postgres_url, f"livechat_test_{next(_databases)}")


@pytest.fixture
def make_emulator() -> Iterator[Any]:
    started: list[Emulator] = []

    def make(**options: Any) -> Emulator:
        switches = options.pop("switches", None)
        emulator = Emulator(ReportsAPI(**options), switches).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()
