"""Dashboard fixtures: two accounts loaded from two emulators into one DuckDB dataset.

Account `demo` (seed 42) is loaded by day in UTC, with the group breakdown; account `acme & <co>` (seed 7, a name with
HTML's special characters) by hour in Asia/Tokyo, so one page has a heatmap and one the line
saying how to get it. Both end on Wednesday 2026-11-18: the current week is partial, and so is
the first (the loads start on Tuesday 2026-09-01).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.livechat_reports import build_pipeline, run_load
from sources.livechat.options import LoadOptions
from sources.livechat_emulator import Emulator, ReportsAPI
from tests.e2e.conftest import at, credentials

TODAY = dt.date(2026, 11, 18)  # a Wednesday
FIRST = dt.date(2026, 9, 1)  # a Tuesday
DAILY, HOURLY = "demo", "acme & <co>"
ACCOUNTS = {
    HOURLY: {
        "seed": 7,
        "token": "acme-pat",
        "options": {"distribution": "hour", "timezone": "Asia/Tokyo"},
    },
    DAILY: {"seed": 42, "token": "demo-pat", "options": {"breakdowns": "group"}},
}
# What the page must call the last full week and month, and the periods before them.
LAST_WEEK, WEEK_BEFORE = dt.date(2026, 11, 9), dt.date(2026, 11, 2)
LAST_MONTH, MONTH_BEFORE = dt.date(2026, 10, 1), dt.date(2026, 9, 1)


@dataclass
class Loaded:
    """The DuckDB file both accounts were loaded into."""

    db: Path

    def query(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        """Run SQL read-only (`lr.` names the dataset); rows as dicts."""
        connection = duckdb.connect(str(self.db), read_only=True)
        try:
            cursor = connection.execute(sql.replace("lr.", "livechat_reports."), list(params))
            names = [d[0] for d in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            connection.close()


@pytest.fixture(scope="session")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """Both accounts, each by its own pipeline, views built (about 10 s)."""
    tmp = tmp_path_factory.mktemp("dashboard")
    db = tmp / "two.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        mp.setenv("DLT_DATA_DIR", str(tmp / "dlt"))
        mp.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
        mp.setenv("RUNTIME__LOG_LEVEL", "ERROR")
        for index, (account, spec) in enumerate(ACCOUNTS.items()):
            api = ReportsAPI(
                now=at(TODAY, 15), seed=spec["seed"], account_id=account,
                personal_access_token=spec["token"],
            )  # fmt: skip
            with Emulator(api) as emulator:
                pipeline = build_pipeline(
                    f"dashboard_{index}", "duckdb", "livechat_reports", str(db)
                )
                options = {
                    "credentials": credentials(account, spec["token"]),
                    "base_url": emulator.url,
                    "backoff_seconds": 0.0,
                    "today": TODAY,
                    "start_date": FIRST,
                    "end_date": TODAY,
                    "backfill": True,
                    **spec["options"],
                }
                run_load(pipeline, LoadOptions(**options), transform=True)
    yield Loaded(db)


@pytest.fixture(scope="session")
def one_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """Account `demo`'s first day only: today, Wednesday 2026-11-18, loaded at 15:00."""
    tmp = tmp_path_factory.mktemp("one-day")
    db = tmp / "one-day.duckdb"
    spec = ACCOUNTS[DAILY]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        mp.setenv("DLT_DATA_DIR", str(tmp / "dlt"))
        mp.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
        mp.setenv("RUNTIME__LOG_LEVEL", "ERROR")
        api = ReportsAPI(
            now=at(TODAY, 15), seed=spec["seed"], account_id=DAILY,
            personal_access_token=spec["token"],
        )  # fmt: skip
        with Emulator(api) as emulator:
            pipeline = build_pipeline("dashboard_one_day", "duckdb", "livechat_reports", str(db))
            options = LoadOptions(
                credentials=credentials(DAILY, spec["token"]),
                base_url=emulator.url,
                backoff_seconds=0.0,
                today=TODAY,
                start_date=TODAY,
                end_date=TODAY,
                backfill=True,
            )
            run_load(pipeline, options, transform=True)
    yield Loaded(db)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run each test in its own directory, with dlt's state kept there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    return tmp_path


def copy_of(loaded: Loaded, target: Path) -> Loaded:
    """A copy of the loaded file that a test may change."""
    shutil.copyfile(loaded.db, target)
    return Loaded(target)


# --- reading a page back ----------------------------------------------------------------------


class PageParser(HTMLParser):
    """Collects tiles, leaderboard cells, chart slots and the embedded JSON of each section.

    `sections[account]["tiles"][(grain, metric)]` are the account's tiles shown first;
    `sections[account]["periods"][(scope, grain, period)]` every period block of a scope
    (`account` or `group-<id>`): whether hidden, its title, its partial note and its tiles.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, dict[str, Any]] = {}
        self.specs: dict[str, Any] = {}
        self._section: dict[str, Any] | None = None
        self._scope = "account"
        self._block: dict[str, Any] | None = None
        self._grain: str | None = None
        self._metric: str | None = None
        self._capture: tuple[str, dict[str, Any]] | None = None
        self._json_id: str | None = None
        self._text: list[str] = []
        self._row: list[dict[str, Any]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "section" and "account" in classes:
            self._section = {
                "index": a["data-index"], "hidden": "hidden" in a, "tiles": {}, "periods": {},
                "agents": [], "charts": [], "empty": [], "text": [],
            }  # fmt: skip
            self.sections[a["data-account"]] = self._section
        elif tag == "script" and a.get("type") == "application/json":
            self._json_id, self._text = a["id"], []
        elif self._section is None:
            return
        elif "scope" in classes:
            self._scope = a["data-scope"]
        elif "period-block" in classes:
            self._block = {"hidden": "hidden" in a, "tiles": {}, "partial": None}
            key = (self._scope, a["data-grain"], a["data-period"])
            self._section["periods"][key] = self._block
        elif tag == "h3" and "period" in classes and self._block is not None:
            self._capture, self._text = ("title", self._block), []
        elif "tiles" in classes:
            self._grain = a["data-grain"]
            if self._block is not None:
                self._block["partial"] = a.get("data-partial")
        elif "tile" in classes:
            self._metric = a["data-metric"]
            tile: dict[str, Any] = {}
            if self._block is not None:
                self._block["tiles"][self._metric] = tile
            if self._scope == "account" and self._block is not None and not self._block["hidden"]:
                self._section["tiles"][(self._grain, self._metric)] = tile
        elif "value" in classes or "change" in classes:
            assert self._block is not None and self._metric is not None
            tile = self._block["tiles"][self._metric]
            if "value" in classes:
                tile["value"] = json.loads(a["data-value"])
                self._capture, self._text = ("value_text", tile), []
            else:
                tile["previous"] = json.loads(a["data-previous"])
                self._capture, self._text = ("change_text", tile), []
        elif tag == "tr":
            self._row = []
        elif tag == "td" and self._row is not None:
            cell = {"column": a["data-column"], "value": json.loads(a["data-value"])}
            self._row.append(cell)
            self._capture, self._text = ("text", cell), []
        elif "data-chart" in a:
            self._section["charts"].append(a["data-chart"])
        elif "data-empty" in a:
            self._section["empty"].append(a["data-empty"])
            self._capture, self._text = ("empty_text", {}), []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._json_id:
            self.specs[self._json_id] = json.loads("".join(self._text))
            self._json_id = None
        elif self._capture and tag in ("div", "td", "p", "h3"):
            key, target = self._capture
            target[key] = "".join(self._text)
            if key == "empty_text" and self._section is not None:
                self._section["text"].append(target[key])
            self._capture = None
        elif tag == "tr" and self._row:
            assert self._section is not None
            self._section["agents"].append({c["column"]: c for c in self._row})
            self._row = None
        elif tag == "section":
            self._section, self._scope, self._block = None, "account", None

    def handle_data(self, data: str) -> None:
        if self._json_id or self._capture:
            self._text.append(data)
        if self._section is not None and not self._capture:
            self._section["text"].append(data)


def parse_page(path: Path) -> PageParser:
    """Parse a written dashboard; `sections` by account, `specs` by element id."""
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def chromium_path() -> str | None:
    """The OS's Chromium (or `LIVECHAT_TEST_CHROMIUM`), or None."""
    configured = os.environ.get("LIVECHAT_TEST_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None
