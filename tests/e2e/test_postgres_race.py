"""Shards' processes creating one new PostgreSQL dataset at once: the loser loads all the same."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pipelines.livechat_reports import build_pipeline
from tests.e2e.conftest import Loader, at, create_database

DAY = dt.date(2026, 11, 10)


def test_a_load_whose_schema_another_session_creates_at_once_loads(
    make_emulator: Any, postgres_url: str | None, tmp_path: Path
) -> None:
    """Another session creates the dataset's schema while this load's CREATE waits for it.

    The load's CREATE SCHEMA blocks on the other session's uncommitted one and, once that
    commits, violates the catalog's unique index: the load step fails, as it did for the second
    of two shard processes loading a new dataset at once, until the loader's own retry.
    """
    import psycopg2

    if postgres_url is None:
        pytest.skip("PostgreSQL unavailable")
    url = create_database(postgres_url, "livechat_test_race")
    emulator = make_emulator(now=at(DAY, 12))
    loader = Loader(emulator, tmp_path / "unused.duckdb", postgres=url)
    other = psycopg2.connect(url)
    with other.cursor() as cursor:
        cursor.execute("create schema livechat_reports")  # in a transaction not yet committed

    def commit_when_the_load_waits() -> None:
        watcher = psycopg2.connect(url)
        watcher.autocommit = True
        deadline = time.monotonic() + 60
        with watcher.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute(
                    "select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
                    " and query ilike '%create schema%'"
                )
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.05)
        watcher.close()
        other.commit()

    committer = threading.Thread(target=commit_when_the_load_waits)
    committer.start()
    summary = loader.run(DAY, start_date=DAY, reports=["chats_total_chats"])
    committer.join()
    other.close()
    assert summary.load_id is not None
    rows = loader.query("select report_date, total from lr.chats_total_chats")
    assert [r["report_date"] for r in rows] == [DAY]
    assert not build_pipeline(
        loader.pipeline.pipeline_name, "postgres", "livechat_reports", credentials=url
    ).has_pending_data
