"""`livechat-reports dashboard --destination postgres`: the page from PostgreSQL's marts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from tests.dashboard.conftest import parse_page
from tests.dashboard.expected import KPI_TILES, local_midnight, written
from tests.e2e.conftest import POSTGRES_SKIP, Loader, at
from tests.postgres import create_database

TODAY = dt.date(2026, 11, 18)


def test_the_page_from_postgres_equals_its_marts(
    make_emulator: Any,
    postgres_url: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if postgres_url is None:
        pytest.skip(f"PostgreSQL unavailable: {POSTGRES_SKIP[0] if POSTGRES_SKIP else 'unknown'}")
    database = create_database(postgres_url, "livechat_dashboard")
    loader = Loader(make_emulator(now=at(TODAY)), tmp_path / "unused.duckdb", postgres=database)
    loader.run(TODAY, start_date=dt.date(2026, 9, 1), end_date=TODAY, backfill=True, transform=True)
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", database)
    out = tmp_path / "pg.html"
    assert main(["dashboard", "--destination", "postgres", "--out", str(out)]) == 0
    page = parse_page(out)
    tiles = page.sections["demo"]["tiles"]
    [week] = loader.query("select * from lr.kpi_weekly where week_start = %s", dt.date(2026, 11, 9))
    [month] = loader.query(
        "select * from lr.kpi_monthly where month_start = %s", dt.date(2026, 10, 1)
    )
    for grain, row in (("week", week), ("month", month)):
        for metric, (column, kind) in KPI_TILES.items():
            if column is None:
                continue
            assert tiles[(grain, metric)]["value"] == pytest.approx(row[column], rel=1e-12)
            assert tiles[(grain, metric)]["value_text"] == written(row[column], kind)
    [queue] = loader.query(
        "select sum(left_queue_visitors) * 1.0 / sum(queued_visitors) as rate"
        " from lr.stg_livechat__chats_queued_visitors where report_date between %s and %s",
        dt.date(2026, 10, 1), dt.date(2026, 10, 31),
    )  # fmt: skip
    assert tiles[("month", "queue_abandonment_rate")]["value"] == pytest.approx(
        float(queue["rate"])
    )
    weeks = loader.query("select week_start, total_chats from lr.kpi_weekly order by week_start")
    chart = page.specs["specs-0"]["weekly_chats"]["data"]["values"]
    assert [(c["week"], c["value"]) for c in chart] == [
        (local_midnight(w["week_start"]), w["total_chats"]) for w in weeks
    ]
    assert page.sections["demo"]["agents"]  # the leaderboard was read too
