"""Group settings that would do nothing, or invent a team: refused, or stored as nothing.

`--breakdown-groups` and `--breakdown-reports` only say what the group breakdown loads; without
it they are refused before any request. A listed group that the account's chats never name is
still asked for (the API answers), but its empty days store no row, so no per-group mart shows
a team with 0 chats; the load's summary and `check` name it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.cli import main
from sources.livechat_emulator import Emulator, ReportsAPI
from tests.e2e.conftest import Loader, at
from tests.e2e.oracle import ask
from tests.e2e.test_groups import (  # noqa: F401 (cli_emulator is a fixture)
    SERIES,
    TODAY,
    TZ,
    _period_kpis,
    bounds,
    cli_emulator,
)

FIRST, LAST = "2026-02-02", "2026-02-08"


def _load(*argv: str) -> int:
    return main(["load", "--start-date", FIRST, "--end-date", LAST, "--no-transform", *argv])


@pytest.mark.parametrize(
    ("argv", "env", "words"),
    [
        (("--breakdown-groups", "0,9"), {}, "`breakdown_groups` (--breakdown-groups) = `0,9`"),
        (
            ("--breakdown-reports", "chats_total_chats"),
            {},
            "`breakdown_reports` (--breakdown-reports) = `chats_total_chats`",
        ),
        ((), {"SOURCES__LIVECHAT__BREAKDOWN_GROUPS": "[0, 9]"}, "`breakdown_groups`"),
        ((), {"SOURCES__LIVECHAT__BREAKDOWN_REPORTS": "chats_ratings"}, "`breakdown_reports`"),
    ],
)
def test_breakdown_settings_without_the_breakdown_exit_2_before_any_request(
    cli_emulator: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    env: dict[str, str],
    words: str,
) -> None:
    """Before: ignored, exit 0, and nothing loaded per group."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _load("--reports", "chats_total_chats", *argv) == 2
    err = capsys.readouterr().err
    assert words in err, err
    assert "does nothing without the group breakdown: add --breakdown group" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert cli_emulator.stats.total() == 0
    if env:  # `check` reads the same configuration and refuses it too, before its request
        assert main(["check"]) == 2
        assert "does nothing without the group breakdown" in capsys.readouterr().err
        assert cli_emulator.stats.total() == 0


def test_an_account_section_with_breakdown_groups_and_no_breakdown_exits_2(
    cli_emulator: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key in ("ACCOUNT_ID", "PERSONAL_ACCESS_TOKEN"):  # the section replaces them
        monkeypatch.delenv(f"SOURCES__LIVECHAT__CREDENTIALS__{key}", raising=False)
    prefix = "SOURCES__LIVECHAT__ACCOUNTS__ACME__"
    monkeypatch.setenv(prefix + "ACCOUNT_ID", "demo")
    monkeypatch.setenv(prefix + "PERSONAL_ACCESS_TOKEN", "demo-pat")
    monkeypatch.setenv(prefix + "BREAKDOWN_GROUPS", "[1]")
    assert _load("--reports", "chats_total_chats") == 2
    err = capsys.readouterr().err
    assert "acme" in err and "`breakdown_groups`" in err and "--breakdown group" in err, err
    assert cli_emulator.stats.total() == 0


# A listed id that is no group of the account ----------------------------------------------------

GROUP_TABLES = (
    "chats_total_chats_by_group",
    "chats_missed_chats_by_group",
    "chats_ratings_by_group",
    "chats_duration_by_group",
    "chats_engagement_by_group",
    "agents_availability_by_group",
)


@dataclasses.dataclass
class Listed:
    emulator: Emulator
    db: duckdb.DuckDBPyConnection
    out: str
    code: int


@pytest.fixture(scope="module")
def listed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Listed]:
    """Every report loaded with `--breakdown-groups 0,9` (9 is no group of the account)."""
    tmp = tmp_path_factory.mktemp("listed")
    patch = pytest.MonkeyPatch()
    emulator = Emulator(ReportsAPI(now=at(TODAY, 20))).start()
    try:
        patch.chdir(tmp)
        for name, value in {
            "DLT_DATA_DIR": str(tmp / "dlt"),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID": "demo",
            "SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN": "demo-pat",
            "SOURCES__LIVECHAT__BASE_URL": emulator.url,
            "SOURCES__LIVECHAT__BACKOFF_SECONDS": "0",
            "SOURCES__LIVECHAT__TIMEZONE": TZ,
        }.items():
            patch.setenv(name, value)
        patch.delenv("DESTINATION__DUCKDB__CREDENTIALS", raising=False)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(
                [
                    *("load", "--start-date", FIRST, "--end-date", LAST),
                    *("--breakdown", "group", "--breakdown-groups", "0,9"),
                ]
            )
        db = duckdb.connect(str(tmp / "livechat.duckdb"), read_only=True)
        yield Listed(emulator, db, out.getvalue(), code)
        db.close()
    finally:
        emulator.stop()
        patch.undo()


def _rows(listed: Listed, sql: str) -> list[dict[str, Any]]:
    cursor = listed.db.execute(sql.replace("lr.", "livechat_reports."))
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_a_listed_group_without_chats_stores_no_row_and_reaches_no_mart(listed: Listed) -> None:
    """Before: 7 rows of nulls in each series table, and a team with 0 chats in every mart."""
    assert listed.code == 0, listed.out
    tables = [
        r["table_name"]
        for r in _rows(
            listed,
            "select table_name from information_schema.tables"
            " where table_schema = 'livechat_reports' and table_name like '%by_group'",
        )
    ]
    assert set(GROUP_TABLES) <= set(tables)
    for table in tables:
        groups = {r["group_id"] for r in _rows(listed, f"select distinct group_id from lr.{table}")}
        assert "9" not in groups, table
        if table in GROUP_TABLES or table.startswith("kpi_"):
            assert groups == {"0"}, table
    for mart in ("kpi_daily_by_group", "kpi_weekly_by_group", "kpi_monthly_by_group"):
        assert {r["group_id"] for r in _rows(listed, f"select group_id from lr.{mart}")} == {"0"}
    # the requests were made (the API answers for any id): nothing guessed, nothing stored
    asked = _rows(
        listed,
        "select count(*) as n from lr.report_requests where group_id = '9'",
    )
    assert asked[0]["n"] > 0


def test_the_summary_names_the_listed_group_the_account_never_shows(listed: Listed) -> None:
    notes = [line.strip() for line in listed.out.splitlines() if "listed group" in line]
    assert notes == [
        "note: listed group 9 has no chats in any loaded day of chats_groups: check the id"
        " (it is asked for every day, and its days without data store no row)"
    ], listed.out


def test_a_listed_group_with_chats_keeps_the_emulators_numbers(listed: Listed) -> None:
    """Group 0's days are the emulator's group-filtered answers, its week the week's answer."""
    first, last = dt.date.fromisoformat(FIRST), dt.date.fromisoformat(LAST)
    for table, (path, extra, columns, _) in SERIES.items():
        if table not in GROUP_TABLES:
            continue
        filters = {**bounds(first, last), "groups": {"values": [0]}, **extra}
        body = {"timezone": TZ, "distribution": "day", "filters": filters}
        want = ask(listed.emulator, path, body)["records"]
        got = {
            r["report_date"]: r
            for r in _rows(listed, f"select * from lr.{table} where group_id = '0'")
        }
        assert set(got) == {dt.date.fromisoformat(d) for d in want}, table  # every day
        for day, record in want.items():
            for column in columns:
                value = got[dt.date.fromisoformat(day)][column] or 0
                assert value == pytest.approx(record.get(column, 0)), (table, day, column)
    (week,) = _rows(listed, "select * from lr.kpi_weekly_by_group where group_id = '0'")
    assert week["week_start"] == first and week["is_partial_period"] is False
    for column, value in _period_kpis(listed.emulator, 0, first, last).items():
        assert week[column] == pytest.approx(value, rel=1e-9), column


def test_check_names_the_listed_group_without_chats(
    make_emulator: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One more request, chats/groups for the last window_days days, when groups are listed."""
    emulator = make_emulator()  # its clock is the real one, as check's "today" is
    for name, value in {
        "SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID": "demo",
        "SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN": "demo-pat",
        "SOURCES__LIVECHAT__BASE_URL": emulator.url,
        "SOURCES__LIVECHAT__TIMEZONE": "UTC",
        "SOURCES__LIVECHAT__BREAKDOWNS": '["group"]',
        "SOURCES__LIVECHAT__BREAKDOWN_GROUPS": "[2, 9, 0]",
    }.items():
        monkeypatch.setenv(name, value)
    today = dt.datetime.now(dt.timezone.utc).date()
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    if dt.datetime.now(dt.timezone.utc).date() != today:
        pytest.skip("midnight passed during the check")
    first = today - dt.timedelta(days=30)
    assert [line.strip() for line in out.splitlines() if "listed group" in line] == [
        f"listed group 9 has no chats in chats/groups from {first} to {today}: check the id"
        " (a load asks for it every day, and its days without data store no row)"
    ], out
    answered = {r: sum(s.values()) for r, s in emulator.stats.statuses_by_report.items()}
    assert answered == {"chats/total_chats": 1, "chats/groups": 1}


def test_the_lineage_view_keeps_each_requests_group(listed: Listed) -> None:
    """Before: stg_livechat__report_requests had no group_id; a group's request read as the
    account's."""
    rows = _rows(
        listed,
        "select table_name, group_id, filters from lr.stg_livechat__report_requests",
    )
    grouped = [r for r in rows if r["table_name"].endswith("_by_group")]
    assert {r["group_id"] for r in grouped} == {"0", "9"}
    for row in grouped:
        assert f'"values":[{row["group_id"]}]' in row["filters"], row
    assert {r["group_id"] for r in rows if not r["table_name"].endswith("_by_group")} == {None}
    assert len(rows) == _rows(listed, "select count(*) as n from lr.report_requests")[0]["n"]


def test_a_listed_groups_rows_of_days_re_fetched_without_data_are_deleted(
    make_emulator: Any, tmp_path: Path
) -> None:
    """Rows an earlier version stored for a group without chats go when its days are loaded."""
    emulator = make_emulator(now=at(TODAY, 20))
    loader = Loader(emulator, tmp_path / "phantom.duckdb")
    first, last = dt.date.fromisoformat(FIRST), dt.date.fromisoformat(LAST)
    options = {
        "start_date": first,
        "end_date": last,
        "backfill": True,
        "reports": "chats_total_chats,chats_ranking",
        "breakdowns": "group",
        "breakdown_groups": "1,9",
    }
    loader.run(TODAY, **options)
    kept = loader.query("select * from lr.chats_total_chats_by_group order by 2, 3")
    assert {r["group_id"] for r in kept} == {"1"} and len(kept) == 7
    with loader.pipeline.sql_client() as client:  # the null rows an earlier version stored
        table = client.make_qualified_table_name("chats_total_chats_by_group")
        client.execute_sql(
            f"insert into {table} (account_id, group_id, report_date, _dlt_load_id, _dlt_id)"
            f" select account_id, '9', report_date, _dlt_load_id, _dlt_id || '9' from {table}"
        )
    loader.run(TODAY, **{**options, "start_date": first + dt.timedelta(days=2)})
    after = loader.query("select * from lr.chats_total_chats_by_group order by 2, 3")
    assert [(r["group_id"], r["report_date"]) for r in after if r["group_id"] == "9"] == [
        ("9", first),
        ("9", first + dt.timedelta(days=1)),
    ]  # the days not loaded again keep what they had
    assert [r for r in after if r["group_id"] == "1"] != [] and len(after) == 7 + 2
