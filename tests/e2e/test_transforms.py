"""Rollup views: built on loaded emulator data, compared with the emulator's own answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sources.livechat.reports import REPORTS
from sources.livechat_emulator import Emulator, ReportsAPI
from tests.e2e.conftest import POSTGRES_SKIP, Loader, at
from tests.e2e.oracle import ask
from tests.postgres import create_database
from transforms import run_transforms

TODAY = dt.date(2026, 11, 18)
FIRST, LAST = dt.date(2026, 9, 1), dt.date(2026, 10, 31)  # 2026-09-01 is a Tuesday
MARTS = {
    "kpi_daily": ("account_id", "report_date"),
    "kpi_weekly": ("account_id", "week_start"),
    "kpi_monthly": ("account_id", "month_start"),
    "agent_scorecard_daily": ("account_id", "report_date", "agent_id"),
    "agent_scorecard_monthly": ("account_id", "month_start", "agent_id"),
    "tag_usage_weekly": ("account_id", "week_start", "tag"),
    "tag_usage_monthly": ("account_id", "month_start", "tag"),
    "greeting_funnel_monthly": ("account_id", "month_start", "greeting_id"),
    "group_chats_monthly": ("account_id", "month_start", "group_id"),
}


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def loaded_marts(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_url: str | None,
) -> Iterator[tuple[Emulator, Loader]]:
    """Two months of every report, loaded and transformed once per destination."""
    postgres = None
    if request.param == "postgres":
        if postgres_url is None:
            pytest.skip(
                f"PostgreSQL unavailable: {POSTGRES_SKIP[0] if POSTGRES_SKIP else 'unknown'}"
            )
        postgres = create_database(postgres_url, "livechat_marts")
    tmp = tmp_path_factory.mktemp("marts")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        mp.setenv("DLT_DATA_DIR", str(tmp / "dlt"))
        mp.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
        with Emulator(ReportsAPI(now=at(TODAY))) as emulator:
            loader = Loader(emulator, tmp / "lc.duckdb", postgres=postgres)
            loader.run(TODAY, start_date=FIRST, end_date=LAST, backfill=True, transform=True)
            yield emulator, loader


def month_filters(month: dt.date) -> dict[str, str]:
    following = (month + dt.timedelta(days=32)).replace(day=1)
    last = following - dt.timedelta(days=1)
    return {"from": f"{month}T00:00:00+00:00", "to": f"{last}T23:59:59+00:00"}


MONTHS = [dt.date(2026, 9, 1), dt.date(2026, 10, 1)]


@pytest.mark.parametrize("month", MONTHS)
def test_monthly_kpis_equal_the_emulator_for_the_whole_month(
    loaded_marts: Any, month: dt.date
) -> None:
    emulator, loader = loaded_marts
    row = loader.query("select * from lr.kpi_monthly where month_start = %s", month)[0]
    body = {"distribution": "month", "filters": month_filters(month)}
    key = month.strftime("%Y-%m")
    rt = ask(emulator, "chats/response_time", body)["records"][key]
    frt = ask(emulator, "chats/first_response_time", body)["records"][key]
    duration = ask(emulator, "chats/duration", body)["records"][key]
    totals = ask(emulator, "chats/total_chats", body)["records"][key]
    ratings = ask(emulator, "chats/ratings", body)["records"][key]
    queues = ask(emulator, "chats/queued_visitors", body)["records"][key]
    visitors = ask(emulator, "customers/unique_visitors", {"filters": month_filters(month)})[
        "summary"
    ]
    # The API rounds each bucket's average (2 decimals; whole seconds for durations), so a
    # month rebuilt from days can differ from the month's own answer by that rounding only.
    assert row["avg_response_time_seconds"] == pytest.approx(rt["response_time"], abs=0.006)
    assert row["avg_first_response_time_seconds"] == pytest.approx(
        frt["first_response_time"], abs=0.006
    )
    assert row["avg_chat_duration_seconds"] == pytest.approx(duration["duration"], abs=0.51)
    assert (row["total_chats"], row["continuous_chats"]) == (totals["total"], totals["continuous"])
    assert (row["chats_rated_good"], row["chats_rated_bad"]) == (ratings["good"], ratings["bad"])
    assert row["satisfaction_rate"] == pytest.approx(
        ratings["good"] / (ratings["good"] + ratings["bad"])
    )
    assert (row["unique_visitors"], row["page_views"]) == (
        visitors["unique_visitors"],
        visitors["page_views"],
    )
    assert (row["queued_visitors"], row["left_queue_visitors"]) == (
        queues["queued"]["count"],
        queues["left_queue"]["count"],
    )
    assert row["queue_abandonment_rate"] == pytest.approx(
        queues["left_queue"]["count"] / queues["queued"]["count"]
    )
    assert row["is_partial_period"] is False
    # the weighted month is not the plain average of its days
    days = loader.query(
        "select avg(avg_response_time_seconds) as a from lr.kpi_daily where report_date >= %s and report_date < %s",
        month,
        (month + dt.timedelta(days=32)).replace(day=1),
    )
    assert abs(days[0]["a"] - row["avg_response_time_seconds"]) > 1e-6


@pytest.mark.parametrize("month", MONTHS)
def test_monthly_ranking_scores_equal_the_emulator_ranking(
    loaded_marts: Any, month: dt.date
) -> None:
    emulator, loader = loaded_marts
    ranking = ask(emulator, "chats/ranking", {"filters": month_filters(month)})["records"]
    rows = {
        r["agent_id"]: r
        for r in loader.query(
            "select * from lr.agent_scorecard_monthly where month_start = %s", month
        )
    }
    assert set(ranking) <= set(rows)
    for agent, expected in ranking.items():
        assert rows[agent]["ranking_score"] == pytest.approx(expected["score"], abs=1e-12)
    performance = ask(emulator, "agents/performance", {"filters": month_filters(month)})["records"]
    for agent, expected in performance.items():
        row = rows[agent]
        assert row["chats"] == expected["chats_count"]
        assert row["logged_in_time_seconds"] == expected["logged_in_time"]
        assert row["avg_first_response_time_seconds"] == pytest.approx(
            expected["first_response_time"]
        )


@pytest.mark.parametrize("month", MONTHS)
def test_monthly_tags_greetings_and_groups_equal_the_emulator(
    loaded_marts: Any, month: dt.date
) -> None:
    emulator, loader = loaded_marts
    usage = ask(emulator, "tags/chat_usage", {"filters": month_filters(month)})["records"]
    tags = {
        r["tag"]: r
        for r in loader.query("select * from lr.tag_usage_monthly where month_start = %s", month)
    }
    assert {t: r["chats"] for t, r in tags.items()} == usage
    total = ask(
        emulator, "chats/total_chats", {"filters": month_filters(month), "distribution": "month"}
    )["total"]
    assert tags["spam"]["share_of_chats"] == pytest.approx(usage["spam"] / total)
    key = month.strftime("%Y-%m")
    greetings = ask(
        emulator,
        "chats/greetings_conversion",
        {"distribution": "month", "filters": {"greetings": month_filters(month)}},
    )["records"][key]
    funnel = {
        r["greeting_id"]: r
        for r in loader.query(
            "select * from lr.greeting_funnel_monthly where month_start = %s", month
        )
    }
    assert {
        g: {k: r[k] for k in ("accepted", "canceled", "displayed", "goals")}
        for g, r in funnel.items()
    } == greetings
    first = next(iter(funnel.values()))
    assert first["acceptance_rate"] == pytest.approx(first["accepted"] / first["displayed"])
    groups = ask(
        emulator, "chats/groups", {"distribution": "month", "filters": month_filters(month)}
    )["records"][key]
    loaded_groups = {
        r["group_id"]: r["chats"]
        for r in loader.query("select * from lr.group_chats_monthly where month_start = %s", month)
    }
    assert loaded_groups == groups


def test_weekly_unique_visitors_are_the_whole_weeks_answer(loaded_marts: Any) -> None:
    emulator, loader = loaded_marts
    weeks = loader.query("select * from lr.kpi_weekly order by week_start")
    assert weeks[0]["week_start"] == dt.date(2026, 8, 31) and weeks[0]["is_partial_period"] is True
    assert (
        weeks[-1]["week_start"] == dt.date(2026, 10, 26) and weeks[-1]["is_partial_period"] is True
    )
    assert not any(w["is_partial_period"] for w in weeks[1:-1])
    week = weeks[2]
    sunday = week["week_start"] + dt.timedelta(days=6)
    answer = ask(
        emulator,
        "customers/unique_visitors",
        {"filters": {"from": f"{week['week_start']}T00:00:00Z", "to": f"{sunday}T23:59:59Z"}},
    )["summary"]
    assert week["unique_visitors"] == answer["unique_visitors"]
    daily = loader.query(
        "select sum(unique_visitors) as s from lr.kpi_daily where report_date between %s and %s",
        week["week_start"],
        sunday,
    )
    assert week["unique_visitors"] < daily[0]["s"]


@pytest.mark.parametrize(("mart", "key"), sorted(MARTS.items()))
def test_mart_keys_are_unique_and_not_null(
    loaded_marts: Any, mart: str, key: tuple[str, ...]
) -> None:
    _, loader = loaded_marts
    columns = ", ".join(key)
    nulls = " or ".join(f"{c} is null" for c in key)
    stats = loader.query(
        f"select count(*) as n, count(distinct ({columns})) as d, sum(case when {nulls} then 1 else 0 end) as nulls from lr.{mart}",
    )[0]
    assert stats["n"] > 0
    assert stats["n"] == stats["d"]
    assert stats["nulls"] == 0


def rounded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # DuckDB sums doubles in parallel, so the last bits of a float sum can differ run to run.
    return sorted(
        ({k: round(v, 9) if isinstance(v, float) else v for k, v in r.items()} for r in rows),
        key=repr,
    )


def test_rebuilding_the_views_changes_nothing(loaded_marts: Any) -> None:
    _, loader = loaded_marts
    before = {m: rounded(loader.query(f"select * from lr.{m}")) for m in MARTS}
    result = run_transforms(loader.pipeline)
    assert set(MARTS) <= set(result.built) and not result.unchanged and result.tests > 40
    assert {m: rounded(loader.query(f"select * from lr.{m}")) for m in MARTS} == before


def test_rates_are_null_when_there_is_nothing_to_divide(make_emulator: Any, tmp_path: Path) -> None:
    emulator = make_emulator(now=at(TODAY), license_start=dt.date(2026, 10, 3))
    loader = Loader(emulator, tmp_path / "lc.duckdb")
    loader.run(
        TODAY,
        start_date=dt.date(2026, 10, 1),
        end_date=dt.date(2026, 10, 4),
        backfill=True,
        transform=True,
    )
    empty = loader.query("select * from lr.kpi_daily where report_date = %s", dt.date(2026, 10, 1))[
        0
    ]
    assert empty["total_chats"] == 0
    assert empty["satisfaction_rate"] is None and empty["avg_response_time_seconds"] is None


KPI_COUNTS = (
    "total_chats",
    "continuous_chats",
    "chats_rated_good",
    "chats_rated_bad",
    "chats_started_by_agent",
    "chats_started_by_customer",
    "chats_from_greetings",
    "unique_visitors",
    "page_views",
    "queued_visitors",
    "left_queue_visitors",
)


@pytest.mark.parametrize("mart", ["kpi_daily", "kpi_weekly", "kpi_monthly"])
def test_kpi_counts_are_bigint(loaded_marts: Any, mart: str) -> None:
    _, loader = loaded_marts
    rows = loader.query(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'livechat_reports' and table_name = %s",
        mart,
    )
    types = {r["column_name"]: r["data_type"].lower() for r in rows}
    assert {c: types[c] for c in KPI_COUNTS} == dict.fromkeys(KPI_COUNTS, "bigint")


def test_no_mart_has_a_128_bit_or_arbitrary_precision_column(loaded_marts: Any) -> None:
    """Sums of BIGINT are HUGEINT on DuckDB and NUMERIC on PostgreSQL unless cast back."""
    _, loader = loaded_marts
    rows = loader.query(
        "select table_name, column_name, data_type from information_schema.columns"
        " where table_schema = 'livechat_reports'"
    )
    marts = [r for r in rows if r["table_name"] in MARTS]
    assert {r["table_name"] for r in marts} == set(MARTS)
    assert [r for r in marts if r["data_type"].lower() in ("hugeint", "numeric")] == []


def test_hourly_loads_roll_up_to_the_same_numbers_as_daily_loads(
    make_emulator: Any, tmp_path: Path
) -> None:
    emulator = make_emulator(now=at(TODAY))
    options = {
        "start_date": dt.date(2026, 10, 24),
        "end_date": dt.date(2026, 10, 27),
        "backfill": True,
        "timezone": "Europe/Warsaw",
        "transform": True,
    }
    daily = Loader(emulator, tmp_path / "daily.duckdb", pipeline_name="daily")
    daily.run(TODAY, **options)
    hourly = Loader(emulator, tmp_path / "hourly.duckdb", pipeline_name="hourly")
    hourly.run(TODAY, distribution="hour", **options)
    a = daily.query("select * from lr.kpi_daily order by report_date")
    b = hourly.query("select * from lr.kpi_daily order by report_date")
    assert len(a) == len(b) == 4
    for x, y in zip(a, b, strict=True):
        for column, value in x.items():
            if isinstance(value, float):
                # each hour bucket carries the API's rounding: whole seconds for durations,
                # 2 decimals for response times and for each hour's availability minutes
                tolerance = {"avg_chat_duration_seconds": 0.51, "available_hours": 0.006}.get(
                    column, 0.006
                )
                assert y[column] == pytest.approx(value, abs=tolerance), column
            else:
                assert y[column] == value, column
    ma = daily.query("select * from lr.kpi_monthly")
    mb = hourly.query("select * from lr.kpi_monthly")
    assert [r["total_chats"] for r in ma] == [r["total_chats"] for r in mb]


# Columns that are null by design in a daily load: availability comes in minutes only per hour.
NULL_BY_DESIGN = {("agents_availability", "minutes")}


def test_no_declared_column_is_null_in_every_row(loaded_marts: Any) -> None:
    """A column the registry declares but the API never fills (engagement's `total`) is a lie."""
    _, loader = loaded_marts
    always_null = []
    for spec in REPORTS:
        for table in spec.tables:
            for column in table.columns:
                (row,) = loader.query(f"select count({column}) as n from lr.{table.name}")
                if row["n"] == 0 and (table.name, column) not in NULL_BY_DESIGN:
                    always_null.append(f"{table.name}.{column}")
    assert always_null == []


def test_views_whose_columns_changed_type_are_replaced(
    make_emulator: Any, tmp_path: Path, destination: str | None
) -> None:
    """PostgreSQL cannot `create or replace` a view whose column changes type: drop, create."""
    loader = Loader(make_emulator(now=at(TODAY)), tmp_path / "lc.duckdb", postgres=destination)
    loader.run(
        TODAY,
        start_date=FIRST,
        end_date=FIRST + dt.timedelta(days=2),
        backfill=True,
        reports=["chats_total_chats"],
        transform=True,
    )
    expected = loader.query("select * from lr.kpi_daily order by report_date")
    with loader.pipeline.sql_client() as client:
        names = {n: client.make_qualified_table_name(n) for n in ("int_kpi_daily", "kpi_daily")}
        for name in ("kpi_weekly", "kpi_monthly", "kpi_daily", "int_kpi_daily"):
            client.execute_sql(f"drop view {client.make_qualified_table_name(name)}")
        # an older version of the views: a count of another type, read by a later view
        client.execute_sql(
            f"create view {names['int_kpi_daily']} as"
            " select 'x' as account_id, cast(1 as numeric) as total_chats"
        )
        client.execute_sql(
            f"create view {names['kpi_daily']} as select * from {names['int_kpi_daily']}"
        )
    result = run_transforms(loader.pipeline)
    assert {"int_kpi_daily", "kpi_daily", "kpi_weekly"} <= set(result.built)
    assert loader.query("select * from lr.kpi_daily order by report_date") == expected
