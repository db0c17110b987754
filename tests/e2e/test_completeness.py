"""What a period claims: a week or month is whole only once each of its days was loaded after it
ended, as a 06:15 schedule rehearsed with LIVECHAT_REPORTS_NOW against the emulator's clock shows.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from tests.e2e.oracle import ask

SUNDAY = dt.datetime(2026, 11, 8, 6, 15, tzinfo=dt.timezone.utc)
MONDAY = SUNDAY + dt.timedelta(days=1)
LAST_OF_MONTH = dt.datetime(2026, 11, 30, 6, 15, tzinfo=dt.timezone.utc)
FIRST_OF_NEXT = LAST_OF_MONTH + dt.timedelta(days=1)
WEEK = dt.date(2026, 11, 2)
MONTH = dt.date(2026, 11, 1)
# Every mart with a period grain, and the column that names its period.
WEEKLY = ("kpi_weekly", "kpi_weekly_by_group", "tag_usage_weekly")
MONTHLY = (
    "kpi_monthly",
    "kpi_monthly_by_group",
    "agent_scorecard_monthly",
    "tag_usage_monthly",
    "greeting_funnel_monthly",
    "group_chats_monthly",
)


class Schedule:
    """Runs `livechat-reports load` as of an instant, as a 06:15 cron job would."""

    def __init__(
        self, emulator: Any, monkeypatch: pytest.MonkeyPatch, db: Path, postgres: str | None
    ) -> None:
        self.emulator, self.monkeypatch, self.postgres = emulator, monkeypatch, postgres
        monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID", "demo")
        monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN", "demo-pat")
        monkeypatch.setenv("SOURCES__LIVECHAT__BASE_URL", emulator.url)
        monkeypatch.setenv("SOURCES__LIVECHAT__BACKOFF_SECONDS", "0")
        monkeypatch.setenv("SOURCES__LIVECHAT__START_DATE", "2026-11-01")
        if postgres:
            monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres)
            self.where = ["--destination", "postgres"]
        else:
            self.where = ["--duckdb-file", str(db)]

    def load_at(self, now: dt.datetime) -> None:
        self.emulator.api.now = now.timestamp()
        self.monkeypatch.setenv("LIVECHAT_REPORTS_NOW", now.isoformat())
        argv = ["load", *self.where, "--breakdown", "group"]
        assert main(argv) == 0

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.postgres:
            import psycopg2

            with psycopg2.connect(self.postgres) as connection, connection.cursor() as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall())
        import duckdb

        (path,) = self.where[1:]
        with duckdb.connect(path, read_only=True) as connection:
            return connection.execute(sql).fetchall()

    def flags(self, mart: str, column: str, start: dt.date) -> set[bool]:
        rows = self.query(
            f"select distinct is_partial_period from livechat_reports.{mart}"
            f" where {column} = '{start}'"
        )
        assert rows, f"{mart} has no row for {start}"
        return {flag for (flag,) in rows}


def whole_total(emulator: Any, first: dt.date, last: dt.date) -> int:
    """The chats of `first`..`last` as the emulator answers once they are over."""
    body = {"filters": {"from": f"{first}T00:00:00Z", "to": f"{last}T23:59:59Z"}}
    return int(ask(emulator, "chats/total_chats", body)["total"])


def test_a_week_loaded_on_its_sunday_morning_is_partial_until_the_monday_load(
    make_emulator: Any,
    tmp_path: Path,
    destination: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator = make_emulator(now=SUNDAY.timestamp())
    schedule = Schedule(emulator, monkeypatch, tmp_path / "lc.duckdb", destination)

    schedule.load_at(SUNDAY)  # the 06:15 run on the week's last day
    for mart in WEEKLY:
        assert schedule.flags(mart, "week_start", WEEK) == {True}, mart
    day = "select report_date, is_partial_period from livechat_reports.kpi_daily"
    days = dict(schedule.query(f"{day} where report_date >= '2026-11-06'"))
    assert days == {dt.date(2026, 11, 6): False, dt.date(2026, 11, 7): False, SUNDAY.date(): True}
    (sunday_total,) = schedule.query(
        f"select total_chats from livechat_reports.kpi_weekly where week_start = '{WEEK}'"
    )[0]

    schedule.load_at(MONDAY)
    for mart in WEEKLY:
        assert schedule.flags(mart, "week_start", WEEK) == {False}, mart
    (monday_total,) = schedule.query(
        f"select total_chats from livechat_reports.kpi_weekly where week_start = '{WEEK}'"
    )[0]
    emulator.api.now = (MONDAY + dt.timedelta(days=30)).timestamp()
    final = whole_total(emulator, WEEK, SUNDAY.date())
    assert monday_total == final
    assert sunday_total < final  # what the Sunday run saw was not the week's number

    schedule.load_at(LAST_OF_MONTH)  # the 06:15 run on the month's last day
    for mart in MONTHLY:
        assert schedule.flags(mart, "month_start", MONTH) == {True}, mart
    schedule.load_at(FIRST_OF_NEXT)
    for mart in MONTHLY:
        assert schedule.flags(mart, "month_start", MONTH) == {False}, mart
    (month_total,) = schedule.query(
        f"select total_chats from livechat_reports.kpi_monthly where month_start = '{MONTH}'"
    )[0]
    emulator.api.now = (FIRST_OF_NEXT + dt.timedelta(days=30)).timestamp()
    assert month_total == whole_total(emulator, MONTH, LAST_OF_MONTH.date())


def week_blocks(page: str) -> dict[str, tuple[bool, str]]:
    """Each week block of the page: its Monday -> (shown first, its title)."""
    found = re.findall(
        r'<div class="period-block" data-grain="week" data-period="([0-9-]+)"( hidden)?>'
        r'<h3 class="period">([^<]*)</h3>',
        page,
    )
    assert found, "the page has no week blocks"
    blocks: dict[str, tuple[bool, str]] = {}
    for monday, hidden, title in found:
        shown = not hidden
        assert blocks.get(monday, (shown, title)) == (shown, title), monday  # every part agrees
        blocks[monday] = (shown, html.unescape(title))
    return blocks


def test_the_dashboard_compares_no_week_that_is_still_running(
    make_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = make_emulator(now=SUNDAY.timestamp())
    schedule = Schedule(emulator, monkeypatch, tmp_path / "lc.duckdb", None)
    monkeypatch.setenv("SOURCES__LIVECHAT__START_DATE", "2026-10-19")
    schedule.load_at(SUNDAY)
    page = tmp_path / "page.html"
    assert main(["dashboard", *schedule.where, "--out", str(page)]) == 0
    blocks = week_blocks(page.read_text(encoding="utf-8"))
    # The week shown first is the last full one, compared with the full week before it.
    assert [m for m, (shown, _) in blocks.items() if shown] == ["2026-10-26"]
    assert blocks["2026-10-26"][1] == (
        "Week: Mon 2026-10-26 – Sun 2026-11-01, against 2026-10-19 – 2026-10-25"
    )
    # The running week can be picked, but it says it is partial and shows no change.
    shown, title = blocks["2026-11-02"]
    assert not shown
    assert title == (
        "Week: Mon 2026-11-02 – Sun 2026-11-08 (partial week: 6 of 7 days complete),"
        " against 2026-10-26 – 2026-11-01 (a full one: no change shown)"
    )

    schedule.load_at(MONDAY)
    assert main(["dashboard", *schedule.where, "--out", str(page)]) == 0
    blocks = week_blocks(page.read_text(encoding="utf-8"))
    assert [m for m, (shown, _) in blocks.items() if shown] == ["2026-11-02"]
    assert blocks["2026-11-02"][1] == (
        "Week: Mon 2026-11-02 – Sun 2026-11-08, against 2026-10-26 – 2026-11-01"
    )


class RecordingProxy:
    """A proxy on loopback that records every connection and answers none of them."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.connections: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                try:
                    self.connections.append(connection.recv(1024))
                except OSError:
                    self.connections.append(b"")

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingProxy]:
    """Route every HTTP(S) request of this process through a recording proxy on loopback."""
    recorder = RecordingProxy()
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, recorder.url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield recorder
    recorder.close()


def use_remote_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID", "demo")
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN", "demo-pat")
    monkeypatch.setenv("SOURCES__LIVECHAT__BASE_URL", "https://api.livechat.invalid")
    monkeypatch.setenv("SOURCES__LIVECHAT__MAX_ATTEMPTS", "1")
    monkeypatch.setenv("SOURCES__LIVECHAT__REQUEST_TIMEOUT", "3")


@pytest.mark.parametrize("command", [["load"], ["check"]])
def test_a_rehearsed_clock_is_refused_for_a_remote_api_before_any_request(
    proxy: RecordingProxy,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    use_remote_api(monkeypatch)
    monkeypatch.setenv("LIVECHAT_REPORTS_NOW", SUNDAY.isoformat())
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "LIVECHAT_REPORTS_NOW" in err and "https://api.livechat.invalid" in err
    assert "loopback" in err and "Traceback" not in err
    assert proxy.connections == []

    # The same command without the rehearsed clock does go out, through the proxy: the check
    # above would have seen a request.
    monkeypatch.delenv("LIVECHAT_REPORTS_NOW")
    assert main(command) == 1
    assert len(proxy.connections) == 1
    assert proxy.connections[0].startswith(b"CONNECT api.livechat.invalid:443")


@pytest.mark.parametrize("value", ["2026-11-08T06:15:00", "next sunday", "2026-13-01T00:00Z"])
def test_a_malformed_rehearsed_clock_exits_2(
    make_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    value: str,
) -> None:
    emulator = make_emulator(now=SUNDAY.timestamp())
    Schedule(emulator, monkeypatch, Path("lc.duckdb"), None)
    monkeypatch.setenv("LIVECHAT_REPORTS_NOW", value)
    assert main(["load"]) == 2
    err = capsys.readouterr().err
    assert f"LIVECHAT_REPORTS_NOW `{value}`" in err and "UTC offset" in err
    assert emulator.stats.total() == 0
