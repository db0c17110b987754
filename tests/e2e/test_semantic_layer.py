"""The MetricFlow semantic layer of the dbt package (transforms/models/semantic/), run with `mf`.

Sixty days of two accounts with the group breakdown are loaded from the emulator into DuckDB and
PostgreSQL and transformed by the pipeline; then `mf validate-configs` checks the metrics against
the warehouse, and `mf query` by account and week or month must give the marts' numbers for
every whole period (is_partial_period false), value by value: sums exactly, rates and averages
to 1e-9 relative (both divide the same exact sums once, in doubles).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import duckdb
import pytest

from sources.livechat_emulator import Emulator, ReportsAPI
from sources.livechat_emulator.accounts import Accounts
from tests.e2e.conftest import POSTGRES_SKIP, Loader, at, credentials
from tests.postgres import create_database
from transforms import PROJECT_DIR

TODAY = dt.date(2026, 4, 2)
FIRST, LAST = dt.date(2026, 2, 1), dt.date(2026, 4, 1)  # 60 days: February and March whole
ACCOUNTS = {"acme": 7, "globex": 8}  # account id: the emulator's seed
BIN = Path(sys.executable).parent
TOLERANCE = 1e-9

# The metrics of each breakdown, named as the columns of its marts (group_/agent_ prefixed).
ACCOUNT_METRICS = (
    "total_chats",
    "continuous_chats",
    "missed_chats",
    "missed_chat_rate",
    "chats_rated_good",
    "chats_rated_bad",
    "satisfaction_rate",
    "avg_chat_duration_seconds",
    "avg_response_time_seconds",
    "avg_first_response_time_seconds",
    "chats_started_by_agent",
    "chats_started_by_customer",
    "chats_from_greetings",
    "available_hours",
    "queued_visitors",
    "left_queue_visitors",
    "queue_abandonment_rate",
)
GROUP_METRICS = (
    "total_chats",
    "continuous_chats",
    "missed_chats",
    "missed_chat_rate",
    "chats_rated_good",
    "chats_rated_bad",
    "satisfaction_rate",
    "avg_chat_duration_seconds",
    "avg_response_time_seconds",
    "avg_first_response_time_seconds",
    "available_hours",
)
AGENT_METRICS = (
    "chats",
    "chats_rated_good",
    "chats_rated_bad",
    "ranking_score",
    "avg_first_response_time_seconds",
    "chatting_time_seconds",
    "logged_in_time_seconds",
    "accepting_chats_time_seconds",
    "not_accepting_chats_time_seconds",
)
PERIOD = {"week": "week_start", "month": "month_start"}

Key = tuple[Any, ...]


@dataclass
class Semantic:
    """A loaded, transformed dataset and a copy of the dbt package parsed against it."""

    loader: Loader
    project: Path
    env: dict[str, str]


def profile_env(loader: Loader, postgres: str | None) -> dict[str, str]:
    """The variables of the shipped `livechat` profile that point it at this destination."""
    if postgres is None:  # the read-only output: mf never needs DuckDB's write lock
        return {"LIVECHAT_DBT_TARGET": "duckdb_read_only", "LIVECHAT_DUCKDB_PATH": loader.db}
    url = urlparse(postgres)
    return {
        "LIVECHAT_DBT_TARGET": "postgres",
        "LIVECHAT_PG_HOST": url.hostname or "localhost",
        "LIVECHAT_PG_PORT": str(url.port or 5432),
        "LIVECHAT_PG_USER": url.username or "postgres",
        "LIVECHAT_PG_PASSWORD": url.password or "",
        "LIVECHAT_PG_DATABASE": url.path.lstrip("/"),
    }


def run(command: str, *args: str, semantic: Semantic) -> subprocess.CompletedProcess[str]:
    """Run `dbt` or `mf` of this environment in the package copy, as a user would."""
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROJECT_DIR": str(semantic.project),
        "DBT_PROFILES_DIR": str(semantic.project / "profiles"),
        **semantic.env,
    }
    return subprocess.run(
        [str(BIN / command), *args],
        cwd=semantic.project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def semantic(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_url: str | None,
) -> Iterator[Semantic]:
    """Sixty days of two accounts with groups, loaded, transformed and parsed by dbt for `mf`."""
    postgres = None
    if request.param == "postgres":
        if postgres_url is None:
            pytest.skip(
                f"PostgreSQL unavailable: {POSTGRES_SKIP[0] if POSTGRES_SKIP else 'unknown'}"
            )
        postgres = create_database(postgres_url, "livechat_semantic")
    tmp = tmp_path_factory.mktemp("semantic")
    api = Accounts(
        *(
            ReportsAPI(
                account_id=name,
                personal_access_token=f"pat-{name}",
                bearer_token=None,
                seed=seed,
                now=at(TODAY),
            )
            for name, seed in ACCOUNTS.items()
        )
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        mp.setenv("DLT_DATA_DIR", str(tmp / "dlt"))
        mp.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
        with Emulator(api) as emulator:
            loader = Loader(emulator, tmp / "lc.duckdb", postgres=postgres)
            for index, name in enumerate(ACCOUNTS):
                loader.run(
                    TODAY,
                    credentials=credentials(name, f"pat-{name}"),
                    start_date=FIRST,
                    end_date=LAST,
                    backfill=True,
                    breakdowns=["group"],
                    transform=index == len(ACCOUNTS) - 1,
                )
        # a copy: `mf` reads target/semantic_manifest.json and writes logs/ in the project
        project = tmp / "transforms"
        shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
        semantic = Semantic(loader, project, profile_env(loader, postgres))
        parsed = run("dbt", "parse", "--quiet", semantic=semantic)
        assert parsed.returncode == 0, parsed.stdout[-3000:] + parsed.stderr[-3000:]
        yield semantic


def mf_query(semantic: Semantic, metrics: list[str], group_by: list[str]) -> list[dict[str, str]]:
    """Rows of `mf query --csv`, as strings by column."""
    out = semantic.project / f"mf-{len(metrics)}-{'-'.join(group_by)}.csv"
    done = run(
        "mf", "query", "--metrics", ",".join(metrics), "--group-by", ",".join(group_by),
        "--csv", str(out), "--quiet", semantic=semantic,
    )  # fmt: skip
    assert done.returncode == 0 and out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    with out.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def number(text: str) -> float | None:
    return None if text == "" else float(text)


def same(left: float | None, right: Any) -> bool:
    """Whether a metric equals a mart value (both null, or equal within TOLERANCE)."""
    if left is None or right is None:
        return left is None and right is None
    return math.isclose(left, float(right), rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def compare(
    semantic: Semantic,
    *,
    mart: str,
    keys: tuple[str, ...],
    columns: tuple[str, ...],
    prefix: str,
    entities: list[str],
    grain: str,
) -> int:
    """Compare mf's metrics with the mart's columns for every whole period; return the rows."""
    period = PERIOD[grain]
    rows = semantic.loader.query(
        f"select * from lr.{mart} where not is_partial_period order by {', '.join(keys)}"
    )
    metrics = [prefix + c for c in columns]
    got: dict[Key, dict[str, str]] = {}
    for row in mf_query(semantic, metrics, [f"metric_time__{grain}", *entities]):
        start = dt.date.fromisoformat(row[f"metric_time__{grain}"][:10])
        got[(*(row[e] for e in entities), start)] = row
    differences = []
    for row in rows:
        key = (*(str(row[k]) for k in keys if k != period), row[period])
        assert key in got, f"mf has no row for {key} of {mart}"
        for column, metric in zip(columns, metrics, strict=True):
            if not same(number(got[key][metric]), row[column]):
                differences.append((key, metric, got[key][metric], row[column]))
    assert not differences, differences[:10]
    return len(rows)


def test_mf_validates_the_metrics_against_the_warehouse(semantic: Semantic) -> None:
    done = run("mf", "validate-configs", semantic=semantic)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    for step in ("the semantics of built manifest", "semantic models against data warehouse"):
        assert f"Successfully validated {step} (ERRORS: 0" in out, out[-3000:]
    assert "Successfully validated metrics against data warehouse (ERRORS: 0" in out


@pytest.mark.parametrize("grain", ["week", "month"])
def test_account_metrics_equal_the_kpi_marts_for_every_whole_period(
    semantic: Semantic, grain: str
) -> None:
    mart = f"kpi_{grain}ly"
    rows = compare(
        semantic, mart=mart, keys=("account_id", PERIOD[grain]), columns=ACCOUNT_METRICS,
        prefix="", entities=["account"], grain=grain,
    )  # fmt: skip
    # February and March, and the eight ISO weeks from Monday 2 February, of each account
    assert rows == len(ACCOUNTS) * {"week": 8, "month": 2}[grain]


@pytest.mark.parametrize("grain", ["week", "month"])
def test_group_metrics_equal_the_by_group_marts(semantic: Semantic, grain: str) -> None:
    mart = f"kpi_{grain}ly_by_group"
    rows = compare(
        semantic, mart=mart, keys=("account_id", "group_id", PERIOD[grain]),
        columns=GROUP_METRICS, prefix="group_", entities=["account", "chat_group"], grain=grain,
    )  # fmt: skip
    assert rows >= len(ACCOUNTS) * {"week": 8, "month": 2}[grain]


def test_agent_metrics_equal_the_monthly_scorecard(semantic: Semantic) -> None:
    rows = compare(
        semantic, mart="agent_scorecard_monthly", keys=("account_id", "agent_id", "month_start"),
        columns=AGENT_METRICS, prefix="agent_", entities=["account", "agent"], grain="month",
    )  # fmt: skip
    assert rows >= len(ACCOUNTS) * 2


def test_mf_reads_the_duckdb_file_read_only_beside_another_reader(semantic: Semantic) -> None:
    if semantic.loader.destination != "duckdb":
        pytest.skip("DuckDB's file lock only")
    metrics, group_by = ["total_chats"], ["metric_time__month", "account"]
    with duckdb.connect(semantic.loader.db, read_only=True):  # a BI tool, the dashboard
        rows = mf_query(semantic, metrics, group_by)
        assert {r["account"] for r in rows} == set(ACCOUNTS)
        # the read-write output needs the write lock, which another reader's handle denies
        writer = Semantic(
            semantic.loader, semantic.project, {**semantic.env, "LIVECHAT_DBT_TARGET": "duckdb"}
        )
        done = run("mf", "query", "--metrics", "total_chats", "--quiet", semantic=writer)
        assert done.returncode != 0 and "Could not set lock" in done.stdout + done.stderr
