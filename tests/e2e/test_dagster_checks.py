"""Dagster checks what it loads: the dbt tests and the loads' own checks are asset checks.

Real runs in process on a real instance (the project's dagster.yaml), against the emulator over
loopback, into a real DuckDB file; the rows a check must catch are written into that file.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

dagster = pytest.importorskip("dagster", reason="the `dagster` extra is not installed")

from dagster import (  # noqa: E402
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    RunRequest,
    SkipReason,
    build_sensor_context,
    materialize,
)

from pipelines.orchestration import models as dbt_models  # noqa: E402
from pipelines.orchestration.checks import (  # noqa: E402
    FRESHNESS_CHECK,
    GRAIN_CHECK,
    freshness_result,
    stale_after_hours,
)
from pipelines.orchestration.jobs import transform_job  # noqa: E402
from pipelines.orchestration.models import dbt_resource, model_assets  # noqa: E402
from pipelines.orchestration.sensors import views_sensor  # noqa: E402
from sources.livechat_emulator import Emulator  # noqa: E402
from sources.livechat_emulator.accounts import Accounts  # noqa: E402
from tests.e2e.conftest import rehearse  # noqa: E402
from tests.e2e.test_accounts import (  # noqa: E402
    TODAY,
    accounts,  # noqa: F401  (the fixture)
    configure,
    query,
)
from tests.e2e.test_dagster import instance, load, warehouse  # noqa: E402, F401

RATINGS = AssetKey(["livechat", "chats_ratings"])


def checks_of(result: Any) -> dict[tuple[str, str], Any]:
    """Each check evaluated in the run, by (asset key, check name)."""
    found = {}
    for event in result.all_events:
        if event.event_type is DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            found[(evaluation.asset_key.to_user_string(), evaluation.check_name)] = evaluation
    return found


def attempts(result: Any) -> int:
    """How many times the run's steps started (a retried step restarts)."""
    started = (DagsterEventType.STEP_START, DagsterEventType.STEP_RESTARTED)
    return sum(e.event_type in started for e in result.all_events)


def duplicate_oldest_rating() -> tuple[Any, ...]:
    """Insert a copy of acme's oldest chats_ratings row (outside any lookback); return its key."""
    key = query(
        None,
        "livechat_reports",
        "select account_id, report_date from livechat_reports.chats_ratings"
        " where account_id = 'acme-id' order by report_date limit 1",
    )[0]
    query(
        None,
        "livechat_reports",
        "insert into livechat_reports.chats_ratings select * from livechat_reports.chats_ratings"
        " where account_id = %s and report_date = %s",
        *key,
    )
    return key


def views(instance: DagsterInstance) -> Any:  # noqa: F811
    return materialize(
        [model_assets()],
        resources={"dbt": dbt_resource(), "warehouse": warehouse(None)},
        instance=instance,
        raise_on_error=False,
    )


def test_a_duplicate_row_fails_the_check_of_its_table_and_the_run_is_not_retried(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    instance: DagsterInstance,  # noqa: F811
) -> None:
    emulator, _ = accounts
    configure(emulator, monkeypatch, None)
    monkeypatch.setenv("SOURCES__LIVECHAT__REPORTS", "chats_total_chats,chats_ratings")
    first = load(instance, None)
    assert first.success
    # The load's own grain check passed on the table as loaded.
    assert checks_of(first)[("livechat/chats_ratings", GRAIN_CHECK)].passed

    clean = views(instance)
    assert clean.success
    grains = {k: e for k, e in checks_of(clean).items() if k[1].startswith("source_grain_")}
    ratings = [e for (asset, name), e in grains.items() if asset == "livechat/chats_ratings"]
    assert len(ratings) == 1 and ratings[0].passed
    # Every source test is a check now, not an observation with a warning.
    assert not [e for e in clean.all_events if e.event_type is DagsterEventType.ASSET_OBSERVATION]

    duplicate_oldest_rating()
    started = time.monotonic()
    broken = views(instance)
    held = time.monotonic() - started
    assert not broken.success
    failed = {k for k, e in checks_of(broken).items() if not e.passed}
    assert [k for k in failed if k[0] == "livechat/chats_ratings"] == [
        ("livechat/chats_ratings", ratings[0].check_name)
    ]
    assert all(k[0] == "livechat/chats_ratings" for k in failed), failed
    # Attempted once: a retry would find the same duplicate (and hold the pool's one slot).
    assert attempts(broken) == 1
    assert DagsterEventType.STEP_UP_FOR_RETRY not in {e.event_type for e in broken.all_events}
    assert held < 60, held  # the retry policy waits 60 s before a retry
    print(f"views run with a duplicated rating: {held:.1f} s, attempts {attempts(broken)}")

    # The load's own check finds it too, after the next load (which leaves that old day alone).
    again = load(instance, None)
    assert again.success  # the rows are committed: a failed check is not a failed load
    grain = checks_of(again)[("livechat/chats_ratings", GRAIN_CHECK)]
    assert not grain.passed
    assert grain.metadata["by_account"].value == {"acme-id": 1}
    assert "account acme-id: 1 keys on 2 rows" in grain.metadata["problem"].value
    assert checks_of(again)[("livechat/chats_total_chats", GRAIN_CHECK)].passed
    assert attempts(again) == 1
    # The build folder of each views run is removed with it.
    assert not (dbt_models.TARGET_DIR / f"build-{broken.run_id}").exists()
    assert not (dbt_models.TARGET_DIR / f"build-{clean.run_id}").exists()


def test_materializations_carry_the_table_name_and_its_row_counts(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    instance: DagsterInstance,  # noqa: F811
) -> None:
    emulator, _ = accounts
    configure(emulator, monkeypatch, None)
    monkeypatch.setenv("SOURCES__LIVECHAT__REPORTS", "chats_total_chats")
    monkeypatch.setenv("SOURCES__LIVECHAT__SHARDS", "2")
    monkeypatch.setenv("SOURCES__LIVECHAT__ACCOUNTS__INITECH__SHARD", "1")
    monkeypatch.setenv("SOURCES__LIVECHAT__ACCOUNTS__ACME__SHARD", "0")
    monkeypatch.setenv("SOURCES__LIVECHAT__ACCOUNTS__GLOBEX__SHARD", "0")
    assert load(instance, None, "shard_1").success
    loaded = load(instance, None, "shard_0")
    assert loaded.success
    counts = dict(
        query(
            None,
            "livechat_reports",
            "select account_id, count(*) from livechat_reports.chats_total_chats group by 1",
        )
    )
    metadata = {
        e.asset_key.path[-1]: e.materialization.metadata
        for e in loaded.get_asset_materialization_events()
    }
    table = metadata["chats_total_chats"]
    assert table["dagster/table_name"].value == "livechat_reports.chats_total_chats"
    assert table["dagster/row_count"].value == sum(counts.values())  # the whole table
    assert table["dagster/partition_row_count"].value == counts["acme-id"] + counts["globex-id"]
    loads = query(None, "livechat_reports", "select count(*) from livechat_reports._dlt_loads")
    assert metadata["_dlt_loads"]["dagster/row_count"].value == loads[0][0] == 2
    assert "dagster/partition_row_count" not in metadata["_dlt_loads"]

    built = views(instance)
    assert built.success
    models = {
        e.asset_key.path[-1]: e.materialization.metadata
        for e in built.get_asset_materialization_events()
    }
    staged = models["stg_livechat__chats_total_chats"]
    assert staged["dagster/table_name"].value == "livechat_reports.stg_livechat__chats_total_chats"
    assert staged["dagster/row_count"].value == sum(counts.values())
    daily = query(None, "livechat_reports", "select count(*) from livechat_reports.kpi_daily")
    assert models["kpi_daily"]["dagster/row_count"].value == daily[0][0] > 0


def test_an_account_that_stopped_loading_fails_the_freshness_check(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    instance: DagsterInstance,  # noqa: F811
) -> None:
    emulator, api = accounts
    configure(emulator, monkeypatch, None)
    monkeypatch.setenv("SOURCES__LIVECHAT__REPORTS", "chats_total_chats")
    first = dt.datetime.combine(TODAY, dt.time(6, 15), dt.timezone.utc)
    rehearse(api, monkeypatch, first.timestamp())
    fresh = load(instance, None)
    assert fresh.success
    assert checks_of(fresh)[("livechat/account_loads", FRESHNESS_CHECK)].passed

    # The next day globex's token is revoked: the others load, and it is 24 h old (fresh).
    rehearse(api, monkeypatch, (first + dt.timedelta(days=1)).timestamp())
    api.revoke("globex-id")
    next_day = load(instance, None)
    assert not next_day.success
    assert checks_of(next_day)[("livechat/account_loads", FRESHNESS_CHECK)].passed
    # Two days on it is 48 h old: the check fails and names it, and only it.
    rehearse(api, monkeypatch, (first + dt.timedelta(days=2)).timestamp())
    stale = load(instance, None)
    check = checks_of(stale)[("livechat/account_loads", FRESHNESS_CHECK)]
    assert not check.passed
    assert check.metadata["stale_accounts"].value == "globex-id"
    problem = check.metadata["problem"].value
    assert problem.startswith(
        "Accounts not loaded successfully in the last 26 hours: globex-id (last loaded"
        f" {first.date().isoformat()}T06:15:"  # the first run: its minute (the load takes a second or more)
    )
    assert attempts(stale) == 1  # a revoked token is not retried
    # A longer allowance passes it.
    monkeypatch.setenv("LIVECHAT_STALE_AFTER_HOURS", "72")
    api.restore("globex-id")
    assert checks_of(load(instance, None))[("livechat/account_loads", FRESHNESS_CHECK)].passed


def test_freshness_counts_a_configured_account_never_loaded_as_stale() -> None:
    now = dt.datetime(2026, 11, 18, 6, 15, tzinfo=dt.timezone.utc)
    last = {"acme-id": now - dt.timedelta(hours=26), "gone-id": now - dt.timedelta(days=9)}
    exactly = freshness_result(last, "livechat", ["acme-id"], now=now, hours=26)
    assert exactly.passed  # 26 hours old is not older than 26 hours
    never = freshness_result(last, "livechat", ["acme-id", "new-id"], now=now, hours=25)
    assert not never.passed
    assert never.metadata["stale_accounts"].value == "acme-id, new-id"
    assert "new-id (last loaded never)" in never.metadata["problem"].value
    # An account no longer configured is not stale: its section was removed on purpose.
    assert "gone-id" not in never.metadata["stale_accounts"].value


def test_stale_after_hours_says_what_is_wrong_with_its_value() -> None:
    assert stale_after_hours({}) == 26
    assert stale_after_hours({"LIVECHAT_STALE_AFTER_HOURS": "48"}) == 48
    for bad in ("0", "-3", "a day"):
        with pytest.raises(ValueError, match=f"LIVECHAT_STALE_AFTER_HOURS `{bad}` is not a"):
            stale_after_hours({"LIVECHAT_STALE_AFTER_HOURS": bad})


def test_the_views_run_after_loads_and_when_the_loaded_columns_change(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    instance: DagsterInstance,  # noqa: F811
) -> None:
    emulator, _ = accounts
    configure(emulator, monkeypatch, None)
    monkeypatch.setenv("SOURCES__LIVECHAT__REPORTS", "chats_total_chats")
    sensor = views_sensor(transform_job(model_assets()))
    cursor: str | None = None

    def tick() -> RunRequest | SkipReason:
        nonlocal cursor
        context = build_sensor_context(
            instance=instance, cursor=cursor, resources={"warehouse": warehouse(None)}
        )
        result = sensor.evaluate_tick(context)
        cursor = context.cursor
        if result.run_requests:
            assert len(result.run_requests) == 1
            return result.run_requests[0]
        return SkipReason(result.skip_message)

    assert isinstance(tick(), SkipReason)  # nothing loaded yet
    assert load(instance, None).success
    after_load = tick()
    assert isinstance(after_load, RunRequest)
    assert after_load.tags["livechat/why"] == (
        "a load ran and the package or the loaded columns changed"
    )
    assert isinstance(tick(), SkipReason)  # nothing new since
    query(None, "livechat_reports", "alter table livechat_reports.chats_total_chats add note text")
    changed = tick()
    assert isinstance(changed, RunRequest)
    assert changed.tags["livechat/why"] == "the package or the loaded columns changed"
    assert isinstance(tick(), SkipReason)
    assert load(instance, None).success
    again = tick()
    assert isinstance(again, RunRequest) and again.tags["livechat/why"] == "a load ran"
