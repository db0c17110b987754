"""The per-group KPI marts and missed chats, built by the real dbt package over raw tables
written by hand with known values (DuckDB and PostgreSQL), compared with the same rollup
computed in Python from the same rows.

The rows are made so that the groups do not add up to the account (as with chats transferred
between groups), one group starts mid-period, one day has no missed-chats row, some buckets
have no average, and one day of one account belongs to a load that did not finish.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from pipelines.livechat_reports import build_pipeline
from transforms import run_transforms

FIRST, LAST = dt.date(2026, 1, 28), dt.date(2026, 3, 3)  # a Wednesday .. a Tuesday
GROUPS = {"acme": ("1", "2", "5"), "globex": ("1",)}
GROUP_5_STARTS = dt.date(2026, 2, 11)  # a Wednesday: no chats (no rows) before it
NO_MISSED_ROW = ("acme", "2", dt.date(2026, 2, 19))  # missed chats not loaded for that day
UNFINISHED = ("acme", dt.date(2026, 2, 24))  # a day an unfinished load wrote
COMPLETED_LOAD = "1700000000.1"

# The raw tables as dlt declares them (group_id after account_id in the _by_group tables).
SERIES = ("account_id", "report_date", "report_hour")
TABLES: dict[str, dict[str, str]] = {
    "chats_total_chats": {"total": "bigint", "continuous": "bigint"},
    "chats_missed_chats": {"total": "bigint", "continuous": "bigint"},
    "chats_ratings": {"chats": "bigint", "good": "bigint", "bad": "bigint"},
    "chats_duration": {
        "agents_chatting_duration": "double precision",
        "count": "bigint",
        "duration": "double precision",
    },
    "chats_response_time": {"count": "bigint", "response_time": "double precision"},
    "chats_first_response_time": {"count": "bigint", "first_response_time": "double precision"},
    "chats_engagement": {
        "started_by_customer_from_greeting": "bigint",
        "started_by_customer_without_greeting": "bigint",
        "started_by_agent": "bigint",
    },
    "agents_availability": {"hours": "double precision", "minutes": "double precision"},
}
KEY_TYPES = {
    "account_id": "text",
    "group_id": "text",
    "report_date": "date",
    "report_hour": "timestamp with time zone",
}
DLT_COLUMNS = {"_dlt_load_id": "text", "_dlt_id": "text"}
REQUEST_COLUMNS = {
    "account_id": "text",
    "report": "text",
    "table_name": "text",
    "window_from": "date",
    "window_to": "date",
    "period": "text",
    "timezone": "text",
    "distribution": "text",
    "filters": "text",
    "group_id": "text",
    "page": "bigint",
    "http_status": "bigint",
    "attempts": "bigint",
    "duration_seconds": "double precision",
    "response_total": "double precision",
    "requested_at": "timestamp with time zone",
}

Row = dict[str, Any]


def days() -> Iterable[dt.date]:
    day = FIRST
    while day <= LAST:
        yield day
        day += dt.timedelta(days=1)


def bucket(rng: random.Random, total: int) -> dict[str, Row]:
    """One day's rows of every report for `total` chats (a bucket without chats has no averages)."""
    missed = rng.randint(0, total // 3)
    answered = total - missed
    good = rng.randint(0, answered // 2)
    bad = rng.randint(0, answered - good) // 3
    greeting = rng.randint(0, total // 4)
    by_agent = rng.randint(0, (total - greeting) // 5)

    def average(low: float, high: float, count: int) -> float | None:
        return round(rng.uniform(low, high), 2) if count else None

    return {
        "chats_total_chats": {"total": total, "continuous": rng.randint(0, total)},
        "chats_missed_chats": {"total": missed, "continuous": rng.randint(0, missed)},
        "chats_ratings": {"chats": good + bad, "good": good, "bad": bad},
        "chats_duration": {
            "agents_chatting_duration": average(30, 600, total),
            "count": total,
            "duration": average(60, 900, total),
        },
        "chats_response_time": {
            "count": answered * 3,
            "response_time": average(5, 90, answered),
        },
        "chats_first_response_time": {
            "count": answered,
            "first_response_time": average(5, 120, answered),
        },
        "chats_engagement": {
            "started_by_customer_from_greeting": greeting,
            "started_by_customer_without_greeting": total - greeting - by_agent,
            "started_by_agent": by_agent,
        },
        "agents_availability": {"hours": round(rng.uniform(0, 16), 2), "minutes": None},
    }


def raw_rows() -> tuple[dict[str, list[Row]], dict[str, list[Row]]]:
    """The account tables' rows and the _by_group tables' rows, deterministic."""
    rng = random.Random(20260301)
    account: dict[str, list[Row]] = defaultdict(list)
    by_group: dict[str, list[Row]] = defaultdict(list)
    for account_id, groups in GROUPS.items():
        for day in days():
            key = {"account_id": account_id, "report_date": day, "report_hour": None}
            group_totals = 0
            for group_id in groups:
                if group_id == "5" and day < GROUP_5_STARTS:
                    continue
                total = rng.randint(0, 3) if day.weekday() == 6 else rng.randint(0, 30)
                group_totals += total
                for table, values in bucket(rng, total).items():
                    if (
                        table == "chats_missed_chats"
                        and (account_id, group_id, day) == NO_MISSED_ROW
                    ):
                        continue
                    by_group[table].append({**key, "group_id": group_id, **values})
            # transfers: a chat counted in two groups is one chat of the account
            total = max(group_totals - rng.randint(0, 4), 0)
            for table, values in bucket(rng, total).items():
                account[table].append({**key, **values})
    return account, by_group


def sql_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, dt.date):
        return f"date '{value.isoformat()}'"
    return repr(value)


def create_table(client: Any, name: str, columns: dict[str, str], rows: list[Row]) -> None:
    """Create one raw table with dlt's column types and insert the rows (ids as dlt gives)."""
    table = client.make_qualified_table_name(name)
    ddl = ", ".join(f"{c} {t}" for c, t in {**columns, **DLT_COLUMNS}.items())
    client.execute_sql(f"create table {table} ({ddl})")
    for start in range(0, len(rows), 500):
        values = ", ".join(
            "("
            + ", ".join(sql_value(row.get(c)) for c in columns)
            + f", {sql_value(row.get('_dlt_load_id', COMPLETED_LOAD))}, '{name}-{start + i}')"
            for i, row in enumerate(rows[start : start + 500])
        )
        client.execute_sql(f"insert into {table} values {values}")


def write_account_tables(client: Any, account: dict[str, list[Row]]) -> None:
    client.create_dataset()
    loads = client.make_qualified_table_name("_dlt_loads")
    client.execute_sql(
        f"create table {loads} (load_id text, schema_name text, status bigint,"
        " inserted_at timestamp with time zone, schema_version_hash text)"
    )
    client.execute_sql(
        f"insert into {loads} values ('{COMPLETED_LOAD}', 'livechat_reports', 0,"
        " cast('2026-03-04 06:00:00+00:00' as timestamp with time zone), 'x')"
    )
    for table, values in TABLES.items():
        columns = {c: KEY_TYPES[c] for c in SERIES} | values
        create_table(client, table, columns, account[table])
    # every day asked for once it had ended, by the completed load: whole periods are complete
    requests = [
        {
            "account_id": account_id,
            "window_from": day,
            "window_to": day,
            "timezone": "UTC",
            "requested_at": "2026-03-04 05:00:00+00:00",
        }
        for account_id in GROUPS
        for day in days()
    ]
    create_table(client, "report_requests", REQUEST_COLUMNS, requests)


def write_group_tables(client: Any, by_group: dict[str, list[Row]]) -> None:
    for table, values in TABLES.items():
        columns = {"account_id": "text", "group_id": "text"}
        columns |= {c: KEY_TYPES[c] for c in SERIES[1:]} | values
        rows = list(by_group[table])
        if table == "chats_total_chats":  # rows of a load that never finished, on one day
            account_id, day = UNFINISHED
            rows = [
                {**r, "_dlt_load_id": "1700000099.9"}
                if (r["account_id"], r["report_date"]) == (account_id, day)
                else r
                for r in rows
            ]
        create_table(client, f"{table}_by_group", columns, rows)


# --- the same rollup, in Python ------------------------------------------------------------


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def period_days(grain: str, start: dt.date) -> int:
    if grain == "weekly":
        return 7
    following = (start + dt.timedelta(days=32)).replace(day=1)
    return (following - start).days


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return None if numerator is None or not denominator else numerator / denominator


def total(values: Iterable[float | None]) -> float | None:
    """SQL's sum: null when every value is null."""
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def expected(
    tables: dict[str, list[Row]], keys: tuple[str, ...], grain: str, unfinished: bool = True
) -> dict[tuple[Any, ...], Row]:
    """Each period's KPIs from the raw rows, by the documented rules (without the day of the
    unfinished load, in every table, once its rows are there)."""
    start_of = week_start if grain == "weekly" else month_start
    per_day: dict[tuple[Any, ...], dict[str, Row]] = defaultdict(dict)
    for table, rows in tables.items():
        for row in rows:
            if unfinished and (row["account_id"], row["report_date"]) == UNFINISHED:
                continue  # every table's rows of that day are left out
            per_day[(*[row[k] for k in keys], row["report_date"])][table] = row
    periods: dict[tuple[Any, ...], list[dict[str, Row]]] = defaultdict(list)
    # the days loaded for the account: a group has no row for a day it had no chat
    account_days: dict[tuple[Any, dt.date], set[dt.date]] = defaultdict(set)
    for (*key, day), reports in per_day.items():
        periods[(*key, start_of(day))].append(reports)
        account_days[(key[0], start_of(day))].add(day)

    def column(parts: list[dict[str, Row]], table: str, field: str) -> list[Any]:
        return [p[table][field] if table in p else None for p in parts]

    def weighted(parts: list[dict[str, Row]], table: str, field: str) -> float | None:
        pairs = [
            (p[table][field], p[table]["count"])
            for p in parts
            if table in p and p[table][field] is not None
        ]
        return ratio(total(a * n for a, n in pairs), sum(n for _, n in pairs))

    result = {}
    for key, parts in periods.items():
        both = [p for p in parts if "chats_total_chats" in p and "chats_missed_chats" in p]
        good = total(column(parts, "chats_ratings", "good"))
        bad = total(column(parts, "chats_ratings", "bad"))
        greeting = total(column(parts, "chats_engagement", "started_by_customer_from_greeting"))
        without = total(column(parts, "chats_engagement", "started_by_customer_without_greeting"))
        result[key] = {
            "is_partial_period": len(account_days[(key[0], key[-1])]) < period_days(grain, key[-1]),
            "total_chats": total(column(parts, "chats_total_chats", "total")),
            "continuous_chats": total(column(parts, "chats_total_chats", "continuous")),
            "missed_chats": total(column(parts, "chats_missed_chats", "total")),
            "missed_chat_rate": ratio(
                total(column(both, "chats_missed_chats", "total")),
                total(column(both, "chats_total_chats", "total")),
            ),
            "chats_rated_good": good,
            "chats_rated_bad": bad,
            "satisfaction_rate": ratio(good, (good or 0) + (bad or 0)),
            "avg_chat_duration_seconds": weighted(parts, "chats_duration", "duration"),
            "avg_response_time_seconds": weighted(parts, "chats_response_time", "response_time"),
            "avg_first_response_time_seconds": weighted(
                parts, "chats_first_response_time", "first_response_time"
            ),
            "chats_started_by_agent": total(column(parts, "chats_engagement", "started_by_agent")),
            "chats_started_by_customer": (greeting or 0) + (without or 0),
            "chats_from_greetings": greeting,
            "available_hours": total(column(parts, "agents_availability", "hours")),
        }
    return result


# --- the test --------------------------------------------------------------------------------

GROUP_MARTS = ("kpi_daily_by_group", "kpi_weekly_by_group", "kpi_monthly_by_group")
PERIOD = {"weekly": "week_start", "monthly": "month_start"}


def query(pipeline: Any, sql: str) -> list[Row]:
    with pipeline.sql_client() as client:
        sql = sql.replace("lr.", client.fully_qualified_dataset_name() + ".")
        with client.execute_query(sql) as cursor:
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def built(pipeline: Any, mart: str, keys: tuple[str, ...], grain: str) -> dict[Any, Row]:
    rows = query(pipeline, f"select * from lr.{mart}")
    return {tuple(r[k] for k in (*keys, PERIOD[grain])): r for r in rows}


def assert_equal(actual: dict[Any, Row], wanted: dict[Any, Row]) -> None:
    assert set(actual) == set(wanted)
    for key, values in wanted.items():
        row = actual[key]
        for name, value in values.items():
            got = float(row[name]) if isinstance(value, float) else row[name]
            assert got == pytest.approx(value, rel=1e-9), (key, name, got, value)


def test_group_marts_build_empty_then_match_the_rows_they_roll_up(
    tmp_path: Path, destination: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the views are read as of the written load (its requests ran at 05:00): the freshness
    # test of `transform` then finds the accounts loaded an hour ago
    monkeypatch.setenv("LIVECHAT_REPORTS_NOW", "2026-03-04T06:00:00+00:00")
    pipeline = build_pipeline(
        "marts_by_group",
        "postgres" if destination else "duckdb",
        "livechat_reports",
        str(tmp_path / "raw.duckdb"),
        credentials=destination,
    )
    account, by_group = raw_rows()
    account_keys, group_keys = ("account_id",), ("account_id", "group_id")

    # 1. No group breakdown loaded: the per-group marts build, empty; the account marts build
    # with missed chats.
    with pipeline.sql_client() as client:
        write_account_tables(client, account)
    run_transforms(pipeline)
    for mart in GROUP_MARTS:
        assert query(pipeline, f"select count(*) as n from lr.{mart}") == [{"n": 0}]
    for grain in ("weekly", "monthly"):
        want = expected(account, account_keys, grain, unfinished=False)
        assert_equal(built(pipeline, f"kpi_{grain}", account_keys, grain), want)
        assert any(r["missed_chat_rate"] for r in want.values())

    # 2. With the _by_group tables: each group's weeks and months, value for value. A load
    # that wrote one day of a _by_group table and did not finish takes that day out of every
    # mart (the account's too) until it is finished.
    with pipeline.sql_client() as client:
        write_group_tables(client, by_group)
    run_transforms(pipeline)
    weeks = {}
    for grain in ("weekly", "monthly"):
        assert_equal(
            built(pipeline, f"kpi_{grain}", account_keys, grain),
            expected(account, account_keys, grain),
        )
        want = expected(by_group, group_keys, grain)
        got = built(pipeline, f"kpi_{grain}_by_group", group_keys, grain)
        assert_equal(got, want)
        weeks[grain] = got
    columns = set(next(iter(weeks["weekly"].values())))
    assert not {"unique_visitors", "page_views"} & columns  # none per group in the API

    # what the rows exercise: a group starting mid-week, a week without one day's missed chats
    # (its rate from the other days only), the unfinished day left out of every group's week
    # (its days before are loaded days without chats, not missing ones)
    assert not weeks["weekly"][("acme", "5", week_start(GROUP_5_STARTS))]["is_partial_period"]
    assert not weeks["monthly"][("globex", "1", dt.date(2026, 2, 1))]["is_partial_period"]
    account_id, group_id, day = NO_MISSED_ROW
    week = weeks["weekly"][(account_id, group_id, week_start(day))]
    assert week["missed_chat_rate"] != pytest.approx(week["missed_chats"] / week["total_chats"])
    assert all(
        weeks["weekly"][(UNFINISHED[0], g, week_start(UNFINISHED[1]))]["is_partial_period"]
        for g in GROUPS["acme"]
    )
    # the groups do not add up to the account, and the marts do not pretend they do
    account_weeks = built(pipeline, "kpi_weekly", account_keys, "weekly")
    sums: dict[Any, int] = defaultdict(int)
    for (account_id, _, start), row in weeks["weekly"].items():
        sums[(account_id, start)] += row["total_chats"]
    assert any(sums[k] != row["total_chats"] for k, row in account_weeks.items())
