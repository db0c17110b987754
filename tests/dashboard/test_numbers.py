"""Every number on the page equals the mart it comes from: tiles, leaderboard, chart data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from tests.dashboard import expected
from tests.dashboard.conftest import (
    ACCOUNTS,
    DAILY,
    FIRST,
    HOURLY,
    LAST_MONTH,
    LAST_WEEK,
    MONTH_BEFORE,
    TODAY,
    WEEK_BEFORE,
    Loaded,
    PageParser,
    parse_page,
)

pytestmark = pytest.mark.usefixtures("workdir")


@pytest.fixture(scope="module")
def page(loaded: Loaded, tmp_path_factory: pytest.TempPathFactory) -> PageParser:
    out = tmp_path_factory.mktemp("page") / "dashboard.html"
    assert main(["dashboard", "--duckdb-file", str(loaded.db), "--out", str(out)]) == 0
    return parse_page(out)


def specs_of(page: PageParser, account: str) -> dict[str, Any]:
    return page.specs[f"specs-{page.sections[account]['index']}"]


def values_of(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return spec["data"]["values"]


ALL = ""  # the all-accounts section's data-account


def same(actual: Any, wanted: Any) -> bool:
    """Equal, floats up to the last bits (two queries may add doubles in another order)."""
    if isinstance(wanted, float) or isinstance(actual, float):
        return actual == pytest.approx(wanted, rel=1e-9)
    return bool(actual == wanted)


def test_the_page_has_both_accounts_and_a_selector(page: PageParser, loaded: Loaded) -> None:
    assert sorted(page.sections) == sorted([ALL, *ACCOUNTS])
    # in the selector's order (sorted), the first shown, the others hidden until chosen
    assert [page.sections[a]["hidden"] for a in [*sorted(ACCOUNTS), ALL]] == [False, True, True]


@pytest.mark.parametrize(
    ("grain", "start"),
    [("week", LAST_WEEK), ("week", WEEK_BEFORE), ("month", LAST_MONTH), ("month", MONTH_BEFORE)],
)
def test_all_accounts_tiles_are_weighted_over_the_accounts_marts(
    page: PageParser, loaded: Loaded, grain: str, start: dt.date
) -> None:
    wanted = expected.all_accounts_values(loaded, sorted(ACCOUNTS), grain, start)
    block = page.sections[ALL]["periods"][("account", grain, f"{start:%Y-%m-%d}")]
    assert block["hidden"] == (start not in (LAST_WEEK, LAST_MONTH))
    assert list(block["tiles"]) == list(expected.KPI_TILES)
    for metric, (_, kind) in expected.KPI_TILES.items():
        assert same(block["tiles"][metric]["value"], wanted[metric]), metric
        assert block["tiles"][metric]["value_text"] == expected.written(wanted[metric], kind)
    # a weighted rate is not the mean of the accounts' rates
    rates = [expected.period_values(loaded, a, grain, start) for a in ACCOUNTS]
    mean = sum(r["avg_first_response_time_seconds"] for r in rates) / len(rates)
    assert not same(block["tiles"]["avg_first_response_time_seconds"]["value"], mean)


@pytest.mark.parametrize("account", [DAILY, HOURLY])
@pytest.mark.parametrize(
    ("grain", "start", "before"),
    [("week", LAST_WEEK, WEEK_BEFORE), ("month", LAST_MONTH, MONTH_BEFORE)],
)
def test_tiles_equal_the_kpi_marts(
    page: PageParser, loaded: Loaded, account: str, grain: str, start: dt.date, before: dt.date
) -> None:
    current = expected.period_values(loaded, account, grain, start)
    previous = expected.period_values(loaded, account, grain, before)
    # the periods the page must pick: the last full one, and the one before it (also full)
    assert not current["is_partial_period"] and not previous["is_partial_period"]
    later = start + dt.timedelta(days=7) if grain == "week" else dt.date(2026, 11, 1)
    assert expected.period_values(loaded, account, grain, later)["is_partial_period"]
    tiles = page.sections[account]["tiles"]
    assert [m for g, m in tiles if g == grain] == list(expected.KPI_TILES)
    for metric, (_, kind) in expected.KPI_TILES.items():
        tile = tiles[(grain, metric)]
        assert current[metric] is not None, metric
        assert same(tile["value"], current[metric]), metric
        assert same(tile["previous"], previous[metric]), metric
        assert tile["value_text"] == expected.written(current[metric], kind), metric
        assert tile["change_text"].startswith(
            f"before: {expected.written(previous[metric], kind)} · "
        )


@pytest.mark.parametrize("account", [DAILY, HOURLY])
def test_weekly_trends_equal_kpi_weekly_and_mark_partial_weeks(
    page: PageParser, loaded: Loaded, account: str
) -> None:
    specs = specs_of(page, account)
    rows = expected.weeks(loaded, account, FIRST)
    days = expected.days_complete(loaded, account)
    assert (rows[0]["week_start"], rows[-1]["week_start"]) == (
        dt.date(2026, 8, 31),
        dt.date(2026, 11, 16),
    )
    for name, column in [
        ("weekly_chats", "total_chats"),
        ("weekly_missed", "missed_chats"),
        ("weekly_satisfaction", "satisfaction_rate"),
        ("weekly_first_response", "avg_first_response_time_seconds"),
        ("weekly_response", "avg_response_time_seconds"),
        ("weekly_duration", "avg_chat_duration_seconds"),
        ("weekly_queued", "queued_visitors"),
        ("weekly_abandonment", "queue_abandonment_rate"),
    ]:
        data = values_of(specs[name])
        wanted = [r for r in rows if r[column] is not None]
        assert [d["week"] for d in data] == [
            expected.local_midnight(r["week_start"]) for r in wanted
        ]
        assert [d["week_end"] for d in data] == [
            expected.local_midnight(r["week_start"] + dt.timedelta(days=6)) for r in wanted
        ]
        for point, row in zip(data, wanted, strict=True):
            assert same(point["value"], row[column]), (name, row["week_start"])
            partial = "Partial week" if row["is_partial_period"] else "Full week"
            assert point["period"] == partial
            assert point["days"] == days.get(row["week_start"], 0)
    chats = values_of(specs["weekly_chats"])
    # the first week (from Tuesday) and this week (through Wednesday) are partial, no other
    assert [(c["period"], c["days"]) for c in chats if c["period"] != "Full week"] == [
        ("Partial week", 6),
        ("Partial week", 3),
    ]


@pytest.mark.parametrize("account", [DAILY, HOURLY])
def test_leaderboard_is_agent_scorecard_monthly_of_the_last_full_month(
    page: PageParser, loaded: Loaded, account: str
) -> None:
    rows = loaded.query(
        "select * from lr.agent_scorecard_monthly where account_id = ? and month_start = ?"
        " order by ranking_score desc nulls last, chats desc, agent_id",
        account, LAST_MONTH,
    )  # fmt: skip
    table = page.sections[account]["agents"]
    assert len(rows) == 8 and [r["agent_id"]["value"] for r in table] == [
        r["agent_id"] for r in rows
    ]
    for rank, (line, row) in enumerate(zip(table, rows, strict=True), 1):
        assert line["rank"]["text"] == str(rank)
        for column, kind in [
            ("ranking_score", "score"),
            ("chats", "count"),
            ("avg_first_response_time_seconds", "seconds"),
        ]:
            assert same(line[column]["value"], row[column]), column
            assert line[column]["text"] == expected.written(row[column], kind)
        for column in (
            "chatting_time_seconds",
            "accepting_chats_time_seconds",
            "not_accepting_chats_time_seconds",
            "logged_in_time_seconds",
        ):
            assert same(line[column]["value"], row[column]), column
            hours = row[column] / 3600
            assert line[column]["text"] == expected.written(hours, "hours"), column


@pytest.mark.parametrize("account", [DAILY, HOURLY])
def test_tags_greetings_and_groups_equal_their_monthly_marts(
    page: PageParser, loaded: Loaded, account: str
) -> None:
    specs = specs_of(page, account)
    tags = loaded.query(
        "select tag, chats, share_of_chats from lr.tag_usage_monthly"
        " where account_id = ? and month_start = ? order by chats desc, tag",
        account, LAST_MONTH,
    )  # fmt: skip
    shown = values_of(specs["tags"])
    assert [(t["tag"], t["chats"]) for t in shown] == [(t["tag"], t["chats"]) for t in tags]
    assert all(same(s["share"], t["share_of_chats"]) for s, t in zip(shown, tags, strict=True))

    greetings = loaded.query(
        "select greeting_id, displayed, accepted, goals from lr.greeting_funnel_monthly"
        " where account_id = ? and month_start = ?",
        account, LAST_MONTH,
    )  # fmt: skip
    funnel = {(g["greeting_id"], g["step"]): g["value"] for g in values_of(specs["greetings"])}
    assert funnel == {
        (g["greeting_id"], step.capitalize()): g[step]
        for g in greetings
        for step in ("displayed", "accepted", "goals")
    }
    assert len(greetings) == 10

    groups = loaded.query(
        "select group_id, chats, share_of_chats from lr.group_chats_monthly"
        " where account_id = ? and month_start = ? order by chats desc",
        account, LAST_MONTH,
    )  # fmt: skip
    bars = values_of(specs["groups"])
    assert [(b["group_id"], b["chats"]) for b in bars] == [
        (g["group_id"], g["chats"]) for g in groups
    ]
    assert all(same(b["share"], g["share_of_chats"]) for b, g in zip(bars, groups, strict=True))


def test_heatmap_averages_each_weekday_hour_over_its_loaded_days(
    page: PageParser, loaded: Loaded
) -> None:
    cells = values_of(specs_of(page, HOURLY)["heatmap"])
    assert len(cells) == 7 * 24  # 79 days: every weekday loaded
    wanted = expected.heatmap(loaded, HOURLY, "Asia/Tokyo", FIRST)
    assert {(c["weekday"], c["hour"]): (c["chats"], c["days"]) for c in cells} == wanted
    for cell in cells:
        chats, days = wanted[(cell["weekday"], cell["hour"])]
        assert same(cell["average"], chats / days)
    # Sep 1 (Tue) .. Nov 18 (Wed): Tuesdays and Wednesdays occur 12 times, the others 11
    occurrences = {c["weekday"]: c["days"] for c in cells}
    assert occurrences == {"Mon": 11, "Tue": 12, "Wed": 12, "Thu": 11, "Fri": 11, "Sat": 11,
                           "Sun": 11}  # fmt: skip
    [daily] = loaded.query(
        "select sum(total_chats) as chats from lr.kpi_daily where account_id = ?", HOURLY
    )
    assert sum(c["chats"] for c in cells) == daily["chats"]  # hours roll up to kpi_daily


def test_an_account_loaded_by_day_says_how_to_get_the_heatmap(page: PageParser) -> None:
    section = page.sections[DAILY]
    assert "heatmap" not in section["charts"] and "heatmap" in section["empty"]
    assert any("--distribution hour" in text for text in section["text"])


def test_months_limits_the_trends_and_the_heatmap(loaded: Loaded, workdir: Path) -> None:
    out = workdir / "one-month.html"
    assert (
        main(["dashboard", "--duckdb-file", str(loaded.db), "--out", str(out), "--months", "1"])
        == 0
    )
    page = parse_page(out)
    specs = specs_of(page, HOURLY)
    since = dt.date(2026, 11, 1)
    assert [v["week"] for v in values_of(specs["weekly_chats"])] == [
        expected.local_midnight(r["week_start"]) for r in expected.weeks(loaded, HOURLY, since)
    ]
    assert len(values_of(specs["weekly_chats"])) == 4  # Oct 26 (it ends in November) .. Nov 16
    [daily] = loaded.query(
        "select sum(total_chats) as chats from lr.kpi_daily where account_id = ? and report_date >= ?",
        HOURLY, since,
    )  # fmt: skip
    assert sum(c["chats"] for c in values_of(specs["heatmap"])) == daily["chats"]
    # Nov 1 (Sun) .. Nov 18 (Wed): three Sundays, two Thursdays
    days = {c["weekday"]: c["days"] for c in values_of(specs["heatmap"])}
    assert (days["Sun"], days["Thu"]) == (3, 2)
    # the tiles do not depend on the window
    assert (
        page.sections[HOURLY]["tiles"][("month", "total_chats")]["value"]
        == (expected.period_values(loaded, HOURLY, "month", LAST_MONTH)["total_chats"])
    )
    assert TODAY.month == 11


@pytest.mark.parametrize("account", [DAILY, HOURLY])
@pytest.mark.parametrize("grain", ["week", "month"])
def test_every_period_the_reader_can_pick_equals_its_mart(
    page: PageParser, loaded: Loaded, account: str, grain: str
) -> None:
    blocks = {
        period: block
        for (scope, g, period), block in page.sections[account]["periods"].items()
        if scope == "account" and g == grain
    }
    view = "kpi_weekly" if grain == "week" else "kpi_monthly"
    column = "week_start" if grain == "week" else "month_start"
    starts = [r[column] for r in loaded.query(f"select {column} from lr.{view}"
                                              " where account_id = ? order by 1 desc", account)]  # fmt: skip
    # the trend window (6 months) holds every loaded period, newest first in the picker
    assert list(blocks) == [f"{s:%Y-%m-%d}" for s in starts]
    shown = LAST_WEEK if grain == "week" else LAST_MONTH
    assert [p for p, b in blocks.items() if not b["hidden"]] == [f"{shown:%Y-%m-%d}"]
    for period, block in blocks.items():
        wanted = expected.period_values(loaded, account, grain, dt.date.fromisoformat(period))
        assert list(block["tiles"]) == list(expected.KPI_TILES)
        for metric, (_, kind) in expected.KPI_TILES.items():
            assert same(block["tiles"][metric]["value"], wanted[metric]), (period, metric)
            assert block["tiles"][metric]["value_text"] == expected.written(wanted[metric], kind)
        assert (block["partial"] is not None) == wanted["is_partial_period"], period
        assert ("partial" in block["title"]) == wanted["is_partial_period"], block["title"]


def test_group_tiles_equal_the_by_group_marts(page: PageParser, loaded: Loaded) -> None:
    groups = [
        r["group_id"]
        for r in loaded.query(
            "select distinct group_id from lr.kpi_weekly_by_group where account_id = ? order by 1",
            DAILY,
        )
    ]
    assert len(groups) >= 2
    periods = page.sections[DAILY]["periods"]
    for group in groups:
        for grain, start in (("week", LAST_WEEK), ("month", LAST_MONTH)):
            block = periods[(f"group-{group}", grain, f"{start:%Y-%m-%d}")]
            assert not block["hidden"]  # the group's first period, once its scope is shown
            wanted = expected.group_period_values(loaded, DAILY, group, grain, start)
            assert list(block["tiles"]) == list(expected.GROUP_TILES)
            for metric, (_, kind) in expected.GROUP_TILES.items():
                assert same(block["tiles"][metric]["value"], wanted[metric]), (group, metric)
                assert block["tiles"][metric]["value_text"] == expected.written(
                    wanted[metric], kind
                )
        weekly = loaded.query(
            "select week_start, total_chats from lr.kpi_weekly_by_group"
            " where account_id = ? and group_id = ? order by week_start",
            DAILY, group,
        )  # fmt: skip
        chart = values_of(specs_of(page, DAILY)[f"group-{group}-weekly_chats"])
        assert [(c["week"], c["value"]) for c in chart] == [
            (expected.local_midnight(w["week_start"]), w["total_chats"]) for w in weekly
        ]
    # the account loaded without the breakdown has no group scope
    assert not [k for k in page.sections[HOURLY]["periods"] if k[0] != "account"]
