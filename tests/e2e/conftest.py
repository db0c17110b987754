"""End-to-end fixtures: the real pipeline, the emulator over loopback HTTP, a temporary DuckDB."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.livechat_reports import LoadSummary, build_pipeline, run_load
from sources.livechat.credentials import PersonalAccessTokenCredentials
from sources.livechat_emulator import Emulator, ReportsAPI


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
    """Runs loads of one pipeline into one DuckDB file against one emulator."""

    def __init__(
        self, emulator: Emulator, db: Path, pipeline_name: str = "livechat_reports"
    ) -> None:
        self.emulator = emulator
        self.db = str(db)
        self.pipeline = build_pipeline(pipeline_name, "duckdb", "livechat_reports", self.db)

    def run(self, today: dt.date, **options: Any) -> LoadSummary:
        options.setdefault("credentials", credentials())
        options.setdefault("base_url", self.emulator.url)
        options.setdefault("backoff_seconds", 0.0)
        transform = options.pop("transform", False)
        return run_load(self.pipeline, {"today": today, **options}, transform=transform)

    def state(self) -> dict[str, str]:
        resources = (
            self.pipeline.state.get("sources", {}).get("livechat_reports", {}).get("resources", {})
        )
        return {
            name: v["last_loaded_day"] for name, v in resources.items() if v.get("last_loaded_day")
        }


def at(day: dt.date, hour: int = 12) -> float:
    return dt.datetime.combine(day, dt.time(hour), dt.timezone.utc).timestamp()


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
