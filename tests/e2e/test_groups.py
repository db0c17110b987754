"""Numbers per group and missed chats, loaded by the real pipeline from the emulator.

One backfill of four whole ISO weeks and a whole month with the group breakdown on is compared
with what the emulator answers for each whole week and the month with the same group filter
(the loader asks in other windows: 7-day series windows that do not start on Mondays, and one
request per day for range reports). Missed chats are compared with the emulator's own chats,
counted without the API. A group whose chats stop disappears from the re-fetched days.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest

from pipelines.cli import main
from pipelines.livechat_reports import run_load
from pipelines.progress import Tally
from sources.livechat.options import LoadOptions
from sources.livechat_emulator import Emulator, ReportsAPI
from sources.livechat_emulator.license import DayData, SyntheticLicense
from tests.e2e.conftest import Loader, at, credentials
from tests.e2e.oracle import ask
from transforms import run_transforms

TZ = "Europe/Warsaw"
FIRST, LAST = dt.date(2026, 2, 2), dt.date(2026, 3, 1)  # Mon..Sun: four whole ISO weeks
TODAY = dt.date(2026, 3, 3)
WEEKS = [(FIRST + dt.timedelta(days=7 * i), FIRST + dt.timedelta(days=7 * i + 6)) for i in range(4)]
MONTH = (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
PERIODS = [*WEEKS, (dt.date(2026, 2, 2), dt.date(2026, 2, 28))]  # the month's loaded days
GROUPS = (0, 1, 2)
MISSED = {"agent_response": {"exists": False}}
WINDOW_DAYS = 7


def bounds(first: dt.date, last: dt.date, tz: str = TZ) -> dict[str, str]:
    zone = ZoneInfo(tz)
    return {
        "from": dt.datetime.combine(first, dt.time(0), zone).isoformat(),
        "to": dt.datetime.combine(last, dt.time(23, 59, 59), zone).isoformat(),
    }


@dataclasses.dataclass
class Loaded:
    emulator: Emulator
    loader: Loader
    tally: Tally
    requests: int
    answered: dict[str, int]  # answers per report path, counted right after the load
    total: int


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    tmp = tmp_path_factory.mktemp("groups")
    patch = pytest.MonkeyPatch()
    patch.setenv("DLT_DATA_DIR", str(tmp / "dlt"))
    patch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    patch.chdir(tmp)
    emulator = Emulator(ReportsAPI(now=at(TODAY, 20))).start()
    try:
        loader = Loader(emulator, tmp / "groups.duckdb")
        tally = Tally()
        options = {
            "credentials": credentials(),
            "base_url": emulator.url,
            "backoff_seconds": 0.0,
            "today": TODAY,
            "timezone": TZ,
            "start_date": FIRST,
            "end_date": LAST,
            "backfill": True,
            "window_days": WINDOW_DAYS,
            "breakdowns": ["group"],
        }
        summary = run_load(loader.pipeline, LoadOptions(**options), transform=False, progress=tally)
        stats = emulator.stats
        answered = {report: sum(s.values()) for report, s in stats.statuses_by_report.items()}
        yield Loaded(emulator, loader, tally, summary.requests, answered, stats.total())
    finally:
        emulator.stop()
        patch.undo()


def _loaded_by_day(loaded: Loaded, table: str, group: int, dims: tuple[str, ...] = ()) -> Any:
    rows = loaded.loader.query(
        f"select * from lr.{table} where group_id = %s order by report_date", str(group)
    )
    return {(r["report_date"], *(r[d] for d in dims)): r for r in rows}


SERIES = {
    # table: (report path, extra filters, metric columns, dimension column)
    "chats_total_chats_by_group": ("chats/total_chats", {}, ("total", "continuous"), None),
    "chats_missed_chats_by_group": ("chats/total_chats", MISSED, ("total", "continuous"), None),
    "chats_ratings_by_group": ("chats/ratings", {}, ("chats", "good", "bad"), None),
    "chats_engagement_by_group": (
        "chats/engagement",
        {},
        (
            "started_by_customer_from_greeting",
            "started_by_customer_without_greeting",
            "started_by_agent",
        ),
        None,
    ),
    "chats_duration_by_group": (
        "chats/duration",
        {},
        ("count", "duration", "agents_chatting_duration"),
        None,
    ),
    "chats_first_response_time_by_group": (
        "chats/first_response_time",
        {},
        ("count", "first_response_time"),
        None,
    ),
    "agents_availability_by_group": ("agents/availability", {}, ("hours",), None),
    "chats_tags_by_group": ("chats/tags", {}, ("chats",), "tag"),
    "chats_greetings_conversion_by_group": (
        "chats/greetings_conversion",
        {},
        ("displayed", "accepted", "canceled", "goals"),
        "greeting_id",
    ),
}


@pytest.mark.parametrize("table", sorted(SERIES))
def test_series_per_group_equal_the_emulator_over_whole_weeks_and_the_month(
    loaded: Loaded, table: str
) -> None:
    path, extra, columns, dimension = SERIES[table]
    compared = 0
    for group in GROUPS:
        got = _loaded_by_day(loaded, table, group, (dimension,) if dimension else ())
        for first, last in PERIODS:
            if path == "chats/greetings_conversion":
                filters: dict[str, Any] = {
                    "greetings": {**bounds(first, last), "groups": {"values": [group]}}
                }
            else:
                filters = {**bounds(first, last), "groups": {"values": [group]}, **extra}
            body = {"timezone": TZ, "distribution": "day", "filters": filters}
            answer = ask(loaded.emulator, path, body)["records"]
            want: dict[Any, dict[str, Any]] = {}
            for key, record in answer.items():
                day = dt.date.fromisoformat(key)
                if dimension is None:
                    want[(day,)] = record
                else:
                    for value, inner in record.items():
                        want[(day, value)] = (
                            {"chats": inner} if table == "chats_tags_by_group" else inner
                        )
            in_period = {k: v for k, v in got.items() if first <= k[0] <= last}
            if dimension is not None:
                assert set(in_period) == set(want), (table, group, first)
            for key, record in want.items():
                row = in_period[key]
                for column in columns:
                    assert (row[column] or 0) == pytest.approx(record.get(column, 0)), (
                        table,
                        group,
                        key,
                        column,
                    )
                    compared += 1
    assert compared > 100


def _sum_range(
    loaded: Loaded,
    table: str,
    key: str,
    group: int,
    first: dt.date,
    last: dt.date,
    columns: tuple[str, ...],
) -> dict[str, dict[str, float]]:
    rows = loaded.loader.query(
        f"select * from lr.{table} where group_id = %s and report_date between %s and %s",
        str(group),
        first,
        last,
    )
    sums: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(columns, 0))
    for row in rows:
        for column in columns:
            sums[str(row[key])][column] += row[column] or 0
    return dict(sums)


RANGE = {
    # table: (report path, key column, columns summed over the period)
    "chats_ranking_by_group": ("chats/ranking", "agent_id", ("total", "good", "bad")),
    "agents_performance_by_group": (
        "agents/performance",
        "agent_id",
        (
            "chats_count",
            "chats_rated_good",
            "chats_rated_bad",
            "first_response_chats_count",
            "chatting_time",
            "accepting_chats_time",
            "logged_in_time",
        ),
    ),
    "tags_chat_usage_by_group": ("tags/chat_usage", "tag", ("chats",)),
    "chats_forms_by_group": ("chats/forms", "form_id", ("count",)),
}


@pytest.mark.parametrize("table", sorted(RANGE))
def test_range_reports_per_group_add_up_to_the_emulator_over_whole_weeks_and_the_month(
    loaded: Loaded, table: str
) -> None:
    """The loader asks per day; the sums of each whole period equal one answer for it."""
    path, key, columns = RANGE[table]
    for group in GROUPS:
        for first, last in PERIODS:
            body = {
                "timezone": TZ,
                "filters": {**bounds(first, last), "groups": {"values": [group]}},
            }
            records = ask(loaded.emulator, path, body)["records"]
            if path == "chats/forms":
                want = {f["form_id"]: {"count": f["count"]} for f in records}
            elif path == "tags/chat_usage":
                want = {tag: {"chats": count} for tag, count in records.items()}
            else:
                want = {agent: {c: m[c] for c in columns} for agent, m in records.items()}
            got = _sum_range(loaded, table, key, group, first, last, columns)
            got = {k: v for k, v in got.items() if any(v.values())}
            want = {k: v for k, v in want.items() if any(v.values())}
            assert got == want, (table, group, first, last)


def test_ranking_scores_per_group_are_the_emulators_per_day(loaded: Loaded) -> None:
    day = dt.date(2026, 2, 10)
    for group in GROUPS:
        body = {"timezone": TZ, "filters": {**bounds(day, day), "groups": {"values": [group]}}}
        want = ask(loaded.emulator, "chats/ranking", body)["records"]
        rows = loaded.loader.query(
            "select agent_id, score from lr.chats_ranking_by_group"
            " where group_id = %s and report_date = %s",
            str(group),
            day,
        )
        assert {r["agent_id"]: r["score"] for r in rows} == {a: m["score"] for a, m in want.items()}


def test_the_groups_add_up_to_the_whole_account(loaded: Loaded) -> None:
    """A chat belongs to one group: per-group chats add up to the account's, every day."""
    for table in ("chats_total_chats", "chats_missed_chats", "chats_ratings"):
        column = "chats" if table == "chats_ratings" else "total"
        whole = loaded.loader.query(f"select report_date, {column} as n from lr.{table} order by 1")
        parts = loaded.loader.query(
            f"select report_date, sum({column}) as n from lr.{table}_by_group group by 1 order by 1"
        )
        assert [(r["report_date"], r["n"] or 0) for r in whole] == [
            (r["report_date"], r["n"] or 0) for r in parts
        ]
        assert len(whole) == (LAST - FIRST).days + 1


def _missed_by_license(group: int | None) -> Counter[dt.date]:
    """Chats without an agent message per local day, from the emulator's synthetic chats."""
    api = ReportsAPI(now=at(TODAY, 20))
    now = api.clock()
    zone = ZoneInfo(TZ)
    counts: Counter[dt.date] = Counter()
    for day in api.license(now).days(FIRST - dt.timedelta(days=1), LAST + dt.timedelta(days=1)):
        for chat in day.chats:
            local = dt.datetime.fromtimestamp(chat.started_at, zone).date()
            if not FIRST <= local <= LAST or chat.ended_at > now or chat.responders:
                continue
            if group is None or chat.group_id == group:
                counts[local] += 1
    return counts


@pytest.mark.parametrize("group", [None, *GROUPS])
def test_missed_chats_are_the_chats_without_an_agent_message(
    loaded: Loaded, group: int | None
) -> None:
    want = _missed_by_license(group)
    assert sum(want.values()) > 10  # the synthetic license has missed chats
    if group is None:
        rows = loaded.loader.query("select report_date, total from lr.chats_missed_chats")
    else:
        rows = loaded.loader.query(
            "select report_date, total from lr.chats_missed_chats_by_group where group_id = %s",
            str(group),
        )
    got = {r["report_date"]: r["total"] for r in rows if r["total"]}
    assert got == {d: n for d, n in want.items() if n}


def test_the_requests_are_the_plan(loaded: Loaded) -> None:
    days = (LAST - FIRST).days + 1
    windows = math.ceil(days / WINDOW_DAYS)
    groups = len(GROUPS)  # every group has chats in the month
    series = {
        "chats/duration": 1 + groups,
        "chats/tags": 1 + groups,
        "chats/total_chats": 2 + 2 * groups,  # total and missed chats, each per group too
        "chats/ratings": 1 + groups,
        "chats/engagement": 1 + groups,
        "chats/greetings_conversion": 1 + groups,
        "chats/response_time": 1 + groups,
        "chats/first_response_time": 1 + groups,
        "chats/groups": 1,  # asked once: the groups' discovery reuses its answers
        "chats/queued_visitors": 1,
        "agents/availability": 1 + groups,
    }
    per_day = {
        "chats/ranking": 1 + groups,
        "chats/forms": 1 + groups,
        "agents/performance": 1 + groups,
        "tags/chat_usage": 1 + groups,
        "customers/unique_visitors": 1,
    }
    answered = dict(loaded.answered)
    pages = answered.pop("chats/queued_visitors_left")
    periods = 4 + 2  # ISO weeks and months touched: Feb and Mar
    plan = {
        **{r: n * windows for r, n in series.items()},
        **{r: n * days for r, n in per_day.items()},
    }
    plan["customers/unique_visitors"] += periods
    assert answered == plan
    assert pages >= days
    assert loaded.requests == sum(plan.values()) + pages == loaded.total
    snapshot = loaded.tally.snapshot()
    assert snapshot.planned == snapshot.done == loaded.requests


def test_per_group_tables_have_the_contracted_columns(loaded: Loaded) -> None:
    def columns(table: str) -> list[tuple[str, str]]:
        rows = loaded.loader.query(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'livechat_reports' and table_name = %s"
            " and column_name not like '\\_dlt%%' escape '\\' order by ordinal_position",
            table,
        )
        return [(r["column_name"], r["data_type"]) for r in rows]

    assert columns("chats_missed_chats") == columns("chats_total_chats")
    base = columns("chats_total_chats")
    assert columns("chats_total_chats_by_group") == [base[0], ("group_id", "VARCHAR"), *base[1:]]
    forms = dict(columns("chats_forms_by_group"))
    assert forms["group_id"] == "VARCHAR" and forms["form_group_id"] == "BIGINT"
    lineage = loaded.loader.query(
        "select filters, group_id from lr.report_requests"
        " where table_name = 'chats_missed_chats_by_group' limit 1"
    )[0]
    assert '"agent_response":{"exists":false}' in lineage["filters"]
    assert f'"groups":{{"values":[{lineage["group_id"]}]}}' in lineage["filters"]


# A group that stops having chats -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ClosingLicense(SyntheticLicense):
    """The synthetic license, with group 2 getting no chats from `closed_from` (UTC) on."""

    closed_from: dt.date = dt.date.max

    def days(self, first: dt.date, last: dt.date) -> list[DayData]:
        return [
            dataclasses.replace(d, chats=tuple(c for c in d.chats if c.group_id != 2))
            if d.day >= self.closed_from
            else d
            for d in super().days(first, last)
        ]


@dataclasses.dataclass
class ClosingAPI(ReportsAPI):
    closed_from: dt.date = dt.date.max

    def license(self, now: int) -> SyntheticLicense:
        base = super().license(now)
        return ClosingLicense(base.seed, base.license_start, self.closed_from)


def test_a_group_that_stops_having_chats_disappears_from_re_fetched_days(
    tmp_path: Path, destination: str | None
) -> None:
    today = dt.date(2026, 1, 20)
    closed = dt.date(2026, 1, 15)
    tables = ("chats_total_chats_by_group", "chats_ranking_by_group", "tags_chat_usage_by_group")
    reports = "chats_total_chats,chats_ranking,tags_chat_usage,chats_groups"
    before = Emulator(ReportsAPI(now=at(today, 20))).start()
    after = Emulator(ClosingAPI(now=at(today, 20), closed_from=closed)).start()
    try:
        loader = Loader(before, tmp_path / "closing.duckdb", postgres=destination)
        options = {"reports": reports, "breakdowns": "group", "window_days": 3}
        loader.run(today, start_date=dt.date(2026, 1, 10), end_date=today, backfill=True, **options)

        def groups_by_day(table: str) -> dict[dt.date, set[str]]:
            found: dict[dt.date, set[str]] = defaultdict(set)
            for row in loader.query(f"select distinct report_date, group_id from lr.{table}"):
                found[row["report_date"]].add(row["group_id"])
            return found

        for table in tables:  # group 2 has rows in the days that will be re-fetched
            assert any("2" in g for d, g in groups_by_day(table).items() if d >= closed), table
        kept = loader.query(
            "select * from lr.chats_total_chats_by_group where report_date < %s order by 2, 3",
            closed,
        )
        # The group's chats stop: the next runs re-fetch the days from `closed` on.
        loader.emulator = after
        loader.run(today, start_date=closed, end_date=today, backfill=True, **options)
        for table in tables:
            by_day = groups_by_day(table)
            assert all("2" not in g for d, g in by_day.items() if d >= closed), table
            assert any("2" in g for d, g in by_day.items() if d < closed), table
        assert (
            loader.query(
                "select * from lr.chats_total_chats_by_group where report_date < %s order by 2, 3",
                closed,
            )
            == kept
        )
        # the other groups hold what the emulator now answers
        day = dt.date(2026, 1, 17)
        for group in (0, 1):
            filters = {**bounds(day, day, "UTC"), "groups": {"values": [group]}}
            answer = ask(after, "chats/total_chats", {"timezone": "UTC", "filters": filters})
            row = loader.query(
                "select total from lr.chats_total_chats_by_group"
                " where group_id = %s and report_date = %s",
                str(group),
                day,
            )
            assert row == [{"total": answer["records"][str(day)].get("total")}]
    finally:
        before.stop()
        after.stop()


# The command ----------------------------------------------------------------------------------


@pytest.fixture
def cli_emulator(make_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An emulator, and the environment a scheduled `load` would have for it."""
    api = make_emulator(now=at(TODAY, 20))
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID", "demo")
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN", "demo-pat")
    monkeypatch.setenv("SOURCES__LIVECHAT__BASE_URL", api.url)
    monkeypatch.setenv("SOURCES__LIVECHAT__BACKOFF_SECONDS", "0")
    monkeypatch.delenv("DESTINATION__DUCKDB__CREDENTIALS", raising=False)
    return api


def _load(*argv: str) -> int:
    return main(
        ["load", "--start-date", "2026-02-02", "--end-date", "2026-02-08", "--no-transform", *argv]
    )


def test_the_command_loads_the_groups_it_is_given(
    cli_emulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("--reports", "chats_total_chats,chats_ranking", "--breakdown", "group")
    assert _load(*argv, "--breakdown-groups", "1,0", "--breakdown-reports", "chats_ranking") == 0
    out = capsys.readouterr().out
    assert "chats_ranking_by_group" in out and "chats_total_chats_by_group" not in out
    # the groups were given: chats/groups is asked once only for the days each had chats on
    # (a day without stores only rows with data); 7 days x (1 + 2 groups) ranking requests
    answered = {r: sum(s.values()) for r, s in cli_emulator.stats.statuses_by_report.items()}
    assert answered == {"chats/groups": 1, "chats/total_chats": 1, "chats/ranking": 21}
    db = duckdb.connect("livechat.duckdb", read_only=True)
    groups = db.sql(
        "select distinct group_id from livechat_reports.chats_ranking_by_group order by 1"
    ).fetchall()
    db.close()
    assert groups == [("0",), ("1",)]


@pytest.mark.parametrize(
    ("filters", "argv", "words"),
    [
        (None, ("--breakdown", "region"), "Unknown breakdown `region`; valid: group"),
        (
            None,
            ("--breakdown", "group", "--breakdown-reports", "chats_groups"),
            "chats_groups cannot be broken down by group",
        ),
        (
            '{"groups": {"exists": false}}',
            ("--breakdown", "group", "--reports", "chats_total_chats"),
            "Filter `groups` = {'exists': False} leaves no group to break chats_total_chats down",
        ),
        (
            '{"groups": {"values": [0, 1]}}',
            ("--breakdown", "group", "--breakdown-groups", "2", "--reports", "chats_ratings"),
            "leaves no group of breakdown_groups [2] to break chats_ratings down by",
        ),
        (
            '{"groups": {"values": [0, 1], "require_every_value": true}}',
            ("--breakdown", "group", "--reports", "chats_ratings"),
            "leaves no group to break chats_ratings down by (a chat belongs to one group)",
        ),
        (
            '{"agent_response": {"exists": true}}',
            ("--reports", "chats_total_chats,chats_missed_chats"),
            "`agent_response` by chats_missed_chats",
        ),
        (
            '{"agent_response": {"agents": {"values": ["anna.kowalska@example.com"]}}}',
            ("--reports", "chats_total_chats"),
            "works only together with `agent_response.first = true`",
        ),
        (
            '{"event_types": {"values": ["planet"]}}',
            ("--reports", "chats_total_chats"),
            "has an unknown value `planet`; valid: message, system_message",
        ),
    ],
)
def test_contradictions_exit_2_before_any_request(
    cli_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    filters: str | None,
    argv: tuple[str, ...],
    words: str,
) -> None:
    if filters:
        monkeypatch.setenv("SOURCES__LIVECHAT__FILTERS", filters)
    assert _load(*argv) == 2
    assert words in capsys.readouterr().err
    assert cli_emulator.stats.total() == 0


def test_a_user_groups_filter_narrows_the_groups_broken_down(
    cli_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discovered groups 0, 1, 2; the user's filter keeps 0 and 2, so 1 gets no requests."""
    monkeypatch.setenv("SOURCES__LIVECHAT__FILTERS", '{"groups": {"exclude_values": [1]}}')
    # chat usage takes only `groups.values` (docs), so this is refused before any request
    assert _load("--breakdown", "group", "--reports", "chats_total_chats,tags_chat_usage") == 2
    monkeypatch.setenv("SOURCES__LIVECHAT__FILTERS", '{"groups": {"values": [0, 2]}}')
    assert _load("--breakdown", "group", "--reports", "chats_total_chats,tags_chat_usage") == 0
    answered = {r: sum(s.values()) for r, s in cli_emulator.stats.statuses_by_report.items()}
    # discovery once, each report once, per group 0 and 2 only
    assert answered == {"chats/groups": 1, "chats/total_chats": 3, "tags/chat_usage": 21}
    db = duckdb.connect("livechat.duckdb", read_only=True)
    rows = db.sql(
        "select group_id, sum(total) from livechat_reports.chats_total_chats_by_group"
        " group by 1 order by 1"
    ).fetchall()
    whole = db.sql("select sum(total) from livechat_reports.chats_total_chats").fetchall()
    db.close()
    assert [g for g, _ in rows] == ["0", "2"]
    assert sum(n for _, n in rows) == whole[0][0]  # the filter keeps only groups 0 and 2


def test_require_every_value_with_exclude_values_loads_what_the_api_answers(
    cli_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused before (the docs allow it with values or exclude_values)."""
    tags = {"exclude_values": ["support", "sales"], "require_every_value": True}
    monkeypatch.setenv("SOURCES__LIVECHAT__FILTERS", json.dumps({"tags": tags}))
    assert _load("--reports", "chats_total_chats") == 0
    body = {
        "timezone": "UTC",
        "filters": {**bounds(dt.date(2026, 2, 2), dt.date(2026, 2, 8), "UTC"), "tags": tags},
    }
    want = ask(cli_emulator, "chats/total_chats", body)["records"]
    db = duckdb.connect("livechat.duckdb", read_only=True)
    got = db.sql(
        "select report_date, total from livechat_reports.chats_total_chats order by 1"
    ).fetchall()
    db.close()
    assert got == [(dt.date.fromisoformat(k), v.get("total")) for k, v in sorted(want.items())]


def test_a_breakdown_turned_on_later_loads_its_tables_from_start_date(tmp_path: Path) -> None:
    """Base tables go on incrementally; the per-group ones start at start_date, like new reports.

    Turning the breakdown off leaves them as they are; a `--refresh` without it is refused,
    since it would leave them with rows of the old settings.
    """
    from sources.livechat.meaning import RefreshLeavesTables

    start, first_today = dt.date(2026, 1, 5), dt.date(2026, 1, 12)
    emulator = Emulator(ReportsAPI(now=at(first_today + dt.timedelta(days=2), 20))).start()
    try:
        loader = Loader(emulator, tmp_path / "later.duckdb")
        options = {"reports": "chats_total_chats,chats_groups", "start_date": start}
        loader.run(first_today, **options)
        emulator.stats.reset()
        later = first_today + dt.timedelta(days=2)
        loader.run(later, breakdowns="group", **options)
        days = loader.query(
            "select min(report_date) as first, max(report_date) as last, count(distinct"
            " report_date) as n from lr.chats_total_chats_by_group"
        )
        assert days == [{"first": start, "last": later, "n": (later - start).days + 1}]
        windows = loader.query(
            "select table_name, window_from, window_to from lr.report_requests"
            " where _dlt_load_id = (select max(_dlt_load_id) from lr.report_requests)"
            " and group_id is null order by 1"
        )
        # chats/groups asked once for the union of the days (the per-group table's), and
        # chats_total_chats only its lookback
        assert windows == [
            {"table_name": "chats_groups", "window_from": start, "window_to": later},
            {
                "table_name": "chats_total_chats",
                "window_from": first_today - dt.timedelta(days=3),
                "window_to": later,
            },
        ]
        assert emulator.stats.statuses_by_report["chats/groups"][200] == 1
        assert loader.state()["chats_total_chats_by_group"] == str(later)
        # the next run: every table from its own last day, chats/groups once for the lookback
        loader.run(later, breakdowns="group", **options)
        asked = loader.query(
            "select window_from, window_to from lr.report_requests where report = 'chats/groups'"
            " and _dlt_load_id = (select max(_dlt_load_id) from lr.report_requests)"
        )
        assert asked == [{"window_from": later - dt.timedelta(days=3), "window_to": later}]
        before = loader.query("select * from lr.chats_total_chats_by_group order by 2, 3")
        loader.run(later, **options)  # the breakdown off again: its tables are left alone
        assert loader.query("select * from lr.chats_total_chats_by_group order by 2, 3") == before
        with pytest.raises(RefreshLeavesTables, match="chats_total_chats_by_group"):
            loader.run(later, refresh=True, **options)
    finally:
        emulator.stop()


def test_a_group_added_to_breakdown_groups_loads_from_start_date(
    tmp_path: Path, destination: str | None
) -> None:
    """Listed groups keep a last loaded day each, so the list can change between runs.

    A group added to the list loads every day from `start_date` (otherwise it would hold only
    the days after it was added, and its first weeks would read as whole weeks with none of
    their chats); a group left out keeps its rows; the groups loaded before go on from their
    own day. Finding the groups with chats/groups afterwards resumes from the earliest group.
    """
    start, first, later = dt.date(2026, 1, 5), dt.date(2026, 1, 12), dt.date(2026, 1, 14)
    every_day = [start + dt.timedelta(days=n) for n in range((later - start).days + 1)]
    emulator = Emulator(ReportsAPI(now=at(later, 20))).start()
    try:
        loader = Loader(emulator, tmp_path / "listed.duckdb", postgres=destination)
        options = {
            "reports": "chats_total_chats,chats_ranking",
            "breakdowns": "group",
            "start_date": start,
            "timezone": "UTC",
        }
        loader.run(first, breakdown_groups="0,2", **options)
        group_2 = "select * from lr.chats_total_chats_by_group where group_id = '2' order by 2, 3"
        kept = loader.query(group_2)
        assert [r["report_date"] for r in kept] == every_day[: (first - start).days + 1]
        emulator.stats.reset()

        loader.run(later, breakdown_groups="0,1", **options)
        answered = {r: sum(s.values()) for r, s in emulator.stats.statuses_by_report.items()}
        # base tables and group 0: their lookback (9..14 Jan); group 1: every day from start;
        # chats/groups once for the days the groups had chats on
        assert answered == {
            "chats/groups": 1,
            "chats/total_chats": 1 + 1 + 1,
            "chats/ranking": 6 + 6 + 10,
        }
        asked = loader.query(
            "select table_name, group_id, min(window_from) as first, max(window_to) as last"
            " from lr.report_requests where group_id is not null"
            " and _dlt_load_id = (select max(_dlt_load_id) from lr.report_requests)"
            " group by 1, 2 order by 1, 2"
        )
        lookback = first - dt.timedelta(days=3)
        assert asked == [
            {"table_name": t, "group_id": g, "first": day, "last": later}
            for t in ("chats_ranking_by_group", "chats_total_chats_by_group")
            for g, day in (("0", lookback), ("1", start))
        ]
        for group in (0, 1):
            filters = {**bounds(start, later, "UTC"), "groups": {"values": [group]}}
            body = {"timezone": "UTC", "distribution": "day", "filters": filters}
            want = ask(emulator, "chats/total_chats", body)["records"]
            got = loader.query(
                "select report_date, total from lr.chats_total_chats_by_group"
                " where group_id = %s order by 1",
                str(group),
            )
            assert got == [
                {"report_date": dt.date.fromisoformat(d), "total": r.get("total")}
                for d, r in sorted(want.items())
            ]
            ranked = loader.query(
                "select count(distinct report_date) as days from lr.chats_ranking_by_group"
                " where group_id = %s and report_date < %s",
                str(group),
                lookback,
            )
            assert ranked == [{"days": (lookback - start).days}]  # every agent works every day
        assert loader.query(group_2) == kept  # left out of the list: kept, not re-fetched

        # Found with chats/groups from here on: from the earliest group's day, every group.
        loader.run(later, **options)
        days = loader.query(
            "select group_id, min(report_date) as first, max(report_date) as last"
            " from lr.chats_total_chats_by_group group by 1 order by 1"
        )
        assert days == [{"group_id": g, "first": start, "last": later} for g in ("0", "1", "2")]
        cursor = loader.query(
            "select group_last_loaded_days from lr.account_cursors"
            " where report = 'chats_total_chats_by_group'"
        )
        assert cursor == [{"group_last_loaded_days": None}]
    finally:
        emulator.stop()


def test_check_refuses_a_bad_breakdown_and_counts_the_requests_per_group(
    cli_emulator: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SOURCES__LIVECHAT__BREAKDOWNS", "planet")
    assert main(["check"]) == 2
    assert "Unknown breakdown `planet`" in capsys.readouterr().err
    assert cli_emulator.stats.total() == 0
    monkeypatch.setenv("SOURCES__LIVECHAT__BREAKDOWNS", '["group"]')
    monkeypatch.setenv("SOURCES__LIVECHAT__BREAKDOWN_REPORTS", "chats_total_chats,chats_ranking")
    assert main(["check"]) == 0
    # a daily run loads 5 days: total chats in one window, ranking one request a day
    assert "breakdown by group: 2 reports, a daily run asks 6 more requests per group" in (
        capsys.readouterr().out
    )
    assert cli_emulator.stats.total() == 1


@pytest.fixture(scope="module")
def marts(loaded: Loaded) -> Loader:
    """The dbt package built once over the per-group load."""
    result = run_transforms(loaded.loader.pipeline)
    assert {"kpi_weekly_by_group", "kpi_monthly_by_group"} <= set(result.built)
    return loaded.loader


def _period_kpis(emulator: Emulator, group: int, first: dt.date, last: dt.date) -> dict[str, Any]:
    """The KPIs of one group over first..last, from the emulator's answers for that period."""

    def records(path: str, extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        filters = {**bounds(first, last), "groups": {"values": [group]}, **(extra or {})}
        body = {"timezone": TZ, "distribution": "day", "filters": filters}
        return list(ask(emulator, path, body)["records"].values())

    def weighted(rows: list[dict[str, Any]], value: str) -> float | None:
        count = sum(r.get("count", 0) for r in rows if value in r)
        return sum(r[value] * r["count"] for r in rows if value in r) / count if count else None

    total_answer = ask(
        emulator,
        "chats/total_chats",
        {
            "timezone": TZ,
            "distribution": "day",
            "filters": {**bounds(first, last), "groups": {"values": [group]}},
        },
    )
    total = sum(r.get("total", 0) for r in total_answer["records"].values())
    assert total == total_answer["total"]  # the period's own total, not only its days
    missed = sum(r.get("total", 0) for r in records("chats/total_chats", MISSED))
    ratings = records("chats/ratings")
    good, bad = sum(r.get("good", 0) for r in ratings), sum(r.get("bad", 0) for r in ratings)
    engagement = records("chats/engagement")
    return {
        "total_chats": total,
        "missed_chats": missed,
        "missed_chat_rate": missed / total if total else None,
        "chats_rated_good": good,
        "chats_rated_bad": bad,
        "satisfaction_rate": good / (good + bad) if good + bad else None,
        "avg_chat_duration_seconds": weighted(records("chats/duration"), "duration"),
        "avg_first_response_time_seconds": weighted(
            records("chats/first_response_time"), "first_response_time"
        ),
        "chats_started_by_agent": sum(r.get("started_by_agent", 0) for r in engagement),
        "available_hours": sum(r.get("hours", 0) for r in records("agents/availability")),
    }


@pytest.mark.parametrize(
    ("mart", "period_column"),
    [("kpi_weekly_by_group", "week_start"), ("kpi_monthly_by_group", "month_start")],
)
def test_per_group_marts_equal_the_emulator_over_whole_weeks_and_the_month(
    loaded: Loaded, marts: Loader, mart: str, period_column: str
) -> None:
    rows = marts.query(f"select * from lr.{mart} order by group_id, {period_column}")
    got = {(r["group_id"], r[period_column]): r for r in rows}
    months = [MONTH, (dt.date(2026, 3, 1), dt.date(2026, 3, 31))]
    periods = WEEKS if period_column == "week_start" else months
    assert set(got) == {(str(g), first) for g in GROUPS for first, _ in periods}
    missed = 0
    for group in GROUPS:
        for first, last in periods:
            row = got[(str(group), first)]
            # February's first day and March after its first are outside the backfill
            assert row["is_partial_period"] is (period_column == "month_start")
            want = _period_kpis(loaded.emulator, group, max(first, FIRST), min(last, LAST))
            missed += want["missed_chats"]
            assert want["total_chats"] > 0
            for column, value in want.items():
                assert row[column] == pytest.approx(value, rel=1e-9), (mart, group, first, column)
    assert missed > 0
