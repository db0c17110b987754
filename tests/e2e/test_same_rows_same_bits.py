"""The same rows give the same bits: marts and dashboards do not depend on the load history.

Ten days loaded as one backfill, and the same ten days as three overlapping backfills that end
with the same rows. Each merge deletes the days it reloads and appends them again, so after the
three runs the tables hold days 8 to 10 before days 1 to 7, and the views read them in that
order; sums of doubles taken in another order differed in their last bits (an agent's monthly
first response time read 25.134705882352943 after one history, 25.13470588235294 after the other).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from sources.livechat_emulator import Emulator
from tests.e2e.conftest import Loader, at
from tests.postgres import create_database
from transforms import model_names, run_transforms

TODAY = dt.date(2026, 11, 18)
DAY = dt.date(2026, 11, 1)


def day(n: int) -> dt.date:
    """The n-th day of the ten (1 to 10: 2026-11-02 to 2026-11-11)."""
    return DAY + dt.timedelta(days=n)


HISTORIES = {
    "backfill": [(day(1), day(10))],
    "three_runs": [(day(4), day(10)), (day(1), day(5)), (day(3), day(7))],
}
GROUPS = {"breakdowns": ["group"], "breakdown_groups": [0, 1, 2]}
MARTS = sorted(name for name in model_names() if not name.startswith(("stg_", "int_")))
TABLES = (
    "chats_duration",
    "chats_response_time",
    "chats_first_response_time",
    "agents_availability",
    "agents_performance",
    "agents_performance_by_group",
    "chats_duration_by_group",
    "chats_total_chats",
)


# When the loads ran (account_freshness): a fact of each history, not a number of the data.
LOAD_TIMES = {"last_loaded_at"}


def rows(loader: Loader, relation: str) -> list[tuple[Any, ...]]:
    """Every row of a relation, every column but dlt's own and load times, in a fixed order."""
    found = loader.query(f"select * from lr.{relation}")
    return sorted(
        (
            tuple(
                (k, v) for k, v in row.items() if not k.startswith("_dlt") and k not in LOAD_TIMES
            )
            for row in found
        ),
        key=repr,
    )


def load(emulator: Emulator, folder: Path, name: str, database: str | None) -> Loader:
    """Load the ten days by one history into a DuckDB file of its own, or a database."""
    folder.mkdir()
    loader = Loader(emulator, folder / "livechat.duckdb", f"bits_{name}", postgres=database)
    for start, end in HISTORIES[name]:
        loader.run(TODAY, start_date=start, end_date=end, backfill=True, **GROUPS)
    run_transforms(loader.pipeline)
    return loader


def dashboard(
    loader: Loader, out: Path, database: str | None, monkeypatch: pytest.MonkeyPatch
) -> bytes:
    if database is None:
        where = ["--duckdb-file", loader.db]
    else:
        monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", database)
        where = ["--destination", "postgres"]
    assert main(["dashboard", *where, "--out", str(out)]) == 0
    return out.read_bytes()


def test_one_backfill_and_three_runs_give_bit_identical_marts_and_dashboards(
    make_emulator: Any,
    destination: str | None,
    postgres_url: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator = make_emulator(now=at(TODAY))
    other = None if destination is None else create_database(str(postgres_url), "livechat_bits")
    backfill = load(emulator, tmp_path / "backfill", "backfill", destination)
    runs = load(emulator, tmp_path / "runs", "three_runs", other)

    # the same rows, in another order
    for table in TABLES:
        assert rows(runs, table) == rows(backfill, table), table
    if destination is None:  # DuckDB reads a table in the order its rows were appended
        read = [r["report_date"] for r in runs.query("select report_date from lr.chats_duration")]
        assert read[:3] == [day(8), day(9), day(10)], read  # the days no later run reloaded
        assert sorted(read) == [day(n) for n in range(1, 11)]

    # every column of every mart, exactly (float equality: the same bits)
    assert len(MARTS) >= 12 and "kpi_weekly_by_group" in MARTS
    for mart in MARTS:
        expected = rows(backfill, mart)
        assert expected, mart
        assert rows(runs, mart) == expected, mart

    pages = {
        name: dashboard(loader, tmp_path / f"{name}.html", database, monkeypatch)
        for name, loader, database in (
            ("backfill", backfill, destination),
            ("runs", runs, other),
        )
    }
    assert pages["backfill"] == pages["runs"]


def test_duckdb_and_postgres_give_the_same_bits(
    make_emulator: Any, postgres_url: str | None, tmp_path: Path
) -> None:
    """Exact sums and the Wilson score in doubles throughout: no engine's own rounding."""
    if postgres_url is None:
        pytest.skip("PostgreSQL unavailable")
    emulator = make_emulator(now=at(TODAY))
    options = {"start_date": dt.date(2026, 9, 1), "end_date": day(10), "backfill": True}
    loaders = []
    for name, database in (
        ("duckdb", None),
        ("postgres", create_database(postgres_url, "livechat_bits_engines")),
    ):
        loader = Loader(emulator, tmp_path / f"{name}.duckdb", f"bits_{name}", postgres=database)
        loader.run(TODAY, **options, **GROUPS)
        run_transforms(loader.pipeline)
        loaders.append(loader)
    duck, postgres = loaders
    for mart in MARTS:
        expected = rows(duck, mart)
        assert expected, mart
        assert rows(postgres, mart) == expected, mart
