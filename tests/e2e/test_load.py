"""End to end: loads from the emulator equal, value for value, what the emulator computes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from sources.livechat.reports import REPORTS
from sources.livechat.windows import Window, periods_touching
from tests.e2e.conftest import Loader, at
from tests.e2e.oracle import assert_table_matches, expected, expected_periods, loaded

TODAY = dt.date(2026, 11, 18)
DAY_TABLES = sorted(
    t.name for r in REPORTS for t in r.tables if t.name != "customers_unique_visitors_by_period"
)
HOURLY = sorted(r.name for r in REPORTS if r.hourly)


@pytest.mark.parametrize(
    ("timezone", "first", "last"),
    [
        ("UTC", dt.date(2026, 9, 1), dt.date(2026, 9, 12)),
        # Europe/Warsaw goes back from CEST to CET on 2026-10-25.
        ("Europe/Warsaw", dt.date(2026, 10, 20), dt.date(2026, 10, 28)),
    ],
)
def test_daily_load_equals_the_emulator(
    make_emulator: Any,
    tmp_path: Path,
    timezone: str,
    first: dt.date,
    last: dt.date,
    destination: str | None,
) -> None:
    emulator = make_emulator(now=at(TODAY, 15), page_size=4)
    loader = Loader(emulator, tmp_path / "lc.duckdb", postgres=destination)
    summary = loader.run(
        TODAY, start_date=first, end_date=last, backfill=True, timezone=timezone, window_days=5
    )
    made = emulator.stats.total()
    days = Window(first, last).days
    for table in DAY_TABLES:
        assert_table_matches(
            loaded(loader, table), expected(emulator, table, days, timezone), table
        )
    periods = [
        (p.kind, p.window.first, p.window.last) for p in periods_touching(Window(first, last))
    ]
    by_period = loaded(loader, "customers_unique_visitors_by_period")
    assert_table_matches(by_period, expected_periods(emulator, periods, timezone), "by_period")
    # the plan: series one request per 5-day window, range one per day, pages as needed
    n_days = len(days)
    windows = -(-n_days // 5)
    series = sum(1 for r in REPORTS if r.kind.value == "series")
    ranges = sum(1 for r in REPORTS if r.kind.value == "range")
    pages = sum(
        max(1, -(-sum(1 for k in loaded(loader, "chats_queued_visitors_left") if k[0] == d) // 4))
        for d in days
    )
    assert summary.requests == made == series * windows + ranges * n_days + pages + len(periods)
    assert summary.retried == 0
    assert (summary.first_day, summary.last_day) == (first, last)
    assert summary.rows["chats_total_chats"] == n_days


def test_hourly_load_equals_the_emulator_across_dst(
    make_emulator: Any, tmp_path: Path, destination: str | None
) -> None:
    emulator = make_emulator(now=at(TODAY, 15))
    loader = Loader(emulator, tmp_path / "lc.duckdb", postgres=destination)
    first, last = dt.date(2026, 10, 24), dt.date(2026, 10, 26)
    loader.run(
        TODAY,
        start_date=first,
        end_date=last,
        backfill=True,
        timezone="Europe/Warsaw",
        distribution="hour",
        reports=HOURLY,
    )
    days = Window(first, last).days
    for table in HOURLY:
        assert_table_matches(
            loaded(loader, table, hourly=True),
            expected(emulator, table, days, "Europe/Warsaw", hourly=True),
            table,
        )
    hours = loaded(loader, "chats_total_chats", hourly=True)
    per_day = {d: sum(1 for k in hours if k[0] == d) for d in days}
    # 24 hour buckets a day; the 25th hour of 2026-10-25 (02:00 twice) is one bucket
    assert per_day == {days[0]: 24, days[1]: 24, days[2]: 24}


def test_hourly_totals_add_up_to_daily_totals(make_emulator: Any, tmp_path: Path) -> None:
    emulator = make_emulator(now=at(TODAY, 15))
    hourly = Loader(emulator, tmp_path / "hourly.duckdb")
    daily = Loader(emulator, tmp_path / "daily.duckdb", pipeline_name="daily")
    options = {
        "start_date": dt.date(2026, 11, 2),
        "end_date": dt.date(2026, 11, 4),
        "backfill": True,
        "reports": ["chats_total_chats", "chats_tags"],
    }
    hourly.run(TODAY, distribution="hour", **options)
    daily.run(TODAY, **options)
    for table, column in (("chats_total_chats", "total"), ("chats_tags", "chats")):
        by_hour: dict[Any, int] = {}
        for key, row in loaded(hourly, table, hourly=True).items():
            day_key = (key[0], *key[2:])
            by_hour[day_key] = by_hour.get(day_key, 0) + (row.get(column) or 0)
        by_day = {k: (r.get(column) or 0) for k, r in loaded(daily, table).items()}
        assert {k: v for k, v in by_hour.items() if v} == {k: v for k, v in by_day.items() if v}


def test_oauth_token_loads_the_same_rows(make_emulator: Any, tmp_path: Path) -> None:
    from sources.livechat.credentials import OAuthCredentials

    emulator = make_emulator(now=at(TODAY, 15), bearer_token="dal:oauth-token")
    oauth = OAuthCredentials()
    oauth.access_token, oauth.account_id = "dal:oauth-token", "demo"
    loader = Loader(emulator, tmp_path / "lc.duckdb")
    loader.run(
        TODAY,
        credentials=oauth,
        start_date=dt.date(2026, 9, 1),
        end_date=dt.date(2026, 9, 3),
        backfill=True,
        reports=["chats_ratings", "chats_ranking"],
    )
    days = Window(dt.date(2026, 9, 1), dt.date(2026, 9, 3)).days
    for table in ("chats_ratings", "chats_ranking"):
        assert_table_matches(loaded(loader, table), expected(emulator, table, days, "UTC"), table)


@pytest.mark.parametrize("limit", [1, 3])
def test_requests_in_flight_never_exceed_max_concurrency(
    make_emulator: Any, tmp_path: Path, limit: int
) -> None:
    from sources.livechat_emulator import Switches

    emulator = make_emulator(now=at(TODAY, 15), switches=Switches(latency_ms=30))
    loader = Loader(emulator, tmp_path / "lc.duckdb")
    loader.run(
        TODAY,
        start_date=dt.date(2026, 9, 1),
        end_date=dt.date(2026, 9, 8),
        backfill=True,
        max_concurrency=limit,
        reports=["chats_ranking", "agents_performance", "chats_total_chats"],
    )
    assert emulator.stats.max_in_flight == limit


def test_reports_of_one_request_each_are_asked_for_at_once(
    make_emulator: Any, tmp_path: Path
) -> None:
    """A daily run's series reports ask one request each: they share the pool, not a queue.

    Asked for one report after another, such a run never had more than one request in flight,
    and waited a round trip per report. The first report goes alone (an account that fails it
    makes one request), then the rest at once.
    """
    from sources.livechat_emulator import Switches

    emulator = make_emulator(now=at(TODAY, 15), switches=Switches(latency_ms=30))
    loader = Loader(emulator, tmp_path / "lc.duckdb")
    reports = [
        "chats_total_chats",
        "chats_ratings",
        "chats_duration",
        "chats_missed_chats",
        "chats_engagement",
    ]
    loader.run(
        TODAY,
        start_date=dt.date(2026, 9, 1),
        end_date=dt.date(2026, 9, 5),
        backfill=True,
        max_concurrency=4,
        reports=reports,
    )
    assert emulator.stats.total() == len(reports)
    assert emulator.stats.max_in_flight == 4
