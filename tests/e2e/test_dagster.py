"""Many accounts on Dagster: the code location in process, against the emulator over loopback.

Each shard is a partition of the report assets; a run of one partition must load that shard's
accounts, each exactly as its own single-account load does, on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

dagster = pytest.importorskip("dagster", reason="the `dagster` extra is not installed")

from dagster import (  # noqa: E402
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    RunRequest,
    TimeWindowPartitionsDefinition,
    build_schedule_context,
    in_process_executor,
    materialize,
    multi_or_in_process_executor,
)
from dagster_dlt import DagsterDltResource  # noqa: E402

from pipelines.accounts import (  # noqa: E402
    Account,
    AccountConfigError,
    AccountResult,
    group_breakdown_configured,
    shard_count,
)
from pipelines.cli import main  # noqa: E402
from pipelines.livechat_reports import LoadSummary  # noqa: E402
from pipelines.orchestration import definitions as location  # noqa: E402
from pipelines.orchestration.jobs import LOAD_JOB  # noqa: E402
from pipelines.orchestration.loads import (  # noqa: E402
    POOL,
    RETRY_POLICY,
    accounts_failure,
    report_assets,
    shard_failure,
)
from pipelines.orchestration.models import dbt_resource, model_assets  # noqa: E402
from pipelines.orchestration.partitions import shard_key, shard_partitions  # noqa: E402
from pipelines.orchestration.warehouse import LiveChatWarehouse  # noqa: E402
from sources.livechat.exceptions import LiveChatAPIError  # noqa: E402
from sources.livechat_emulator import Emulator  # noqa: E402
from sources.livechat_emulator.accounts import Accounts  # noqa: E402
from tests.e2e.conftest import at, credentials, rehearse  # noqa: E402
from tests.e2e.test_accounts import (  # noqa: E402
    NAMES,
    TODAY,
    accounts,  # noqa: F401  (the fixture)
    as_single_account,
    assert_equal_to_alone,
    configure,
    query,
    reader,
    table_rows,
    token,
)

ROOT = Path(__file__).resolve().parents[2]
DAGSTER_YAML = ROOT / "pipelines" / "orchestration" / "dagster.yaml"


@pytest.fixture
def instance(tmp_path: Path) -> DagsterInstance:
    """A real, persistent instance with the project's dagster.yaml (the pool's limit)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DAGSTER_YAML, home / "dagster.yaml")
    return DagsterInstance.from_config(str(home))


def warehouse(db: str | None) -> LiveChatWarehouse:
    if db is None:
        return LiveChatWarehouse(destination="duckdb", duckdb_file="livechat.duckdb")
    return LiveChatWarehouse(destination="postgres")


def assign(monkeypatch: pytest.MonkeyPatch, shards: dict[str, int]) -> None:
    """Spread the accounts over shards with `shard = k` in their sections."""
    monkeypatch.setenv("SOURCES__LIVECHAT__SHARDS", str(max(shards.values()) + 1))
    for name, shard in shards.items():
        monkeypatch.setenv(f"SOURCES__LIVECHAT__ACCOUNTS__{name.upper()}__SHARD", str(shard))


def alone(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Configure `name` as the single account: no sections, so no shards either."""
    monkeypatch.delenv("SOURCES__LIVECHAT__SHARDS", raising=False)
    for other in NAMES:
        monkeypatch.delenv(f"SOURCES__LIVECHAT__ACCOUNTS__{other.upper()}__SHARD", raising=False)
    as_single_account(monkeypatch, name)


def load(
    instance: DagsterInstance,
    db: str | None,
    partition: str = "shard_0",
    config: dict[str, Any] | None = None,
    reports: Any = None,
) -> Any:
    """Materialize the report assets for one shard, in process, as a scheduled run would.

    `reports` is the assets definition to run (default: built now, from the configuration).
    """
    reports = reports or report_assets(shard_partitions(shard_count()))
    return materialize(
        [reports],
        partition_key=partition,
        resources={"dlt": DagsterDltResource(), "warehouse": warehouse(db)},
        instance=instance,
        run_config={"ops": {"livechat_reports": {"config": config or {}}}},
        raise_on_error=False,
    )


def metadata_of(result: Any) -> dict[str, Any]:
    """Each materialized table's metadata, by table name."""
    return {
        e.asset_key.path[-1]: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }


def failure_of(result: Any) -> str:
    """The description of the run's one step failure."""
    failures = result.get_step_failure_events()
    assert len(failures) == 1
    user_failure = failures[0].step_failure_data.user_failure_data
    assert user_failure is not None
    return str(user_failure.description or "")


SHARDS = {"acme": 0, "globex": 0, "initech": 1}


def test_shards_through_dagster_load_each_account_as_it_would_alone(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    destination: str | None,
    monkeypatch: pytest.MonkeyPatch,
    instance: DagsterInstance,
) -> None:
    emulator, api = accounts
    options = configure(emulator, monkeypatch, destination)
    assign(monkeypatch, SHARDS)
    # Two rounds: the second re-fetches the lookback days of every account, so a merge scoped
    # by day without the account would delete the others' rows; and dagster-dlt drops the local
    # state before each run, so the second round must resume from the dataset's cursors.
    for now_hour in (6, 20):
        rehearse(api, monkeypatch, at(TODAY, 0) + 3600 * now_hour)
        for shard in (0, 1):
            members = [name for name in NAMES if SHARDS[name] == shard]
            emulator.stats.reset()
            result = load(instance, destination, shard_key(shard))
            assert result.success, shard
            events = result.get_asset_materialization_events()
            keys = {e.asset_key for e in events}
            assert AssetKey(["livechat", "chats_total_chats"]) in keys
            assert AssetKey(["livechat", "chats_form_answers"]) in keys
            assert {e.partition for e in events} == {shard_key(shard)}
            # Only the tokens of this shard's accounts were used.
            assert set(emulator.stats.requests_by_account) == {f"{n}-id" for n in members}
            table = metadata_of(result)["chats_total_chats"]
            assert table["accounts_loaded"].value == ", ".join(f"{n} ({n}-id)" for n in members)
            assert set(table["rows_by_account"].value) == {f"{n}-id" for n in members}
            assert table["rows_loaded"].value == sum(table["rows_by_account"].value.values())
            assert "accounts_failed" not in table
            if now_hour == 20:
                # Incremental: the lookback days, not the history again (cursors restored).
                assert emulator.stats.total() < 80 * len(members), (shard, emulator.stats.total())

    # One pipeline (and dlt state) per shard, one staging dataset per shard, and one load per
    # shard run (one load job and one merge per table), not one per account.
    pipelines = {
        r[0]
        for r in query(
            destination,
            "livechat_reports",
            "select distinct pipeline_name from livechat_reports._dlt_pipeline_state",
        )
    }
    assert pipelines == {"livechat_reports_shard_0", "livechat_reports_shard_1"}
    schemas = {
        r[0]
        for r in query(
            destination, "livechat_reports", "select schema_name from information_schema.schemata"
        )
        if r[0].startswith("livechat_reports_staging")
    }
    assert schemas == {"livechat_reports_staging_shard_0", "livechat_reports_staging_shard_1"}
    loads = query(
        destination, "livechat_reports", "select count(*) from livechat_reports._dlt_loads"
    )
    assert loads == [(4,)]
    first_days = dict(
        query(
            destination,
            "livechat_reports",
            "select account_id, min(report_date) from livechat_reports.chats_total_chats"
            " group by account_id",
        )
    )
    assert first_days == {
        "acme-id": TODAY - dt.timedelta(days=30),
        "globex-id": TODAY - dt.timedelta(days=30),
        "initech-id": TODAY - dt.timedelta(days=12),
    }

    # The views: dbt through dagster-dbt, downstream of the reports, over all accounts.
    views = materialize(
        [model_assets()],
        resources={"dbt": dbt_resource(), "warehouse": warehouse(destination)},
        instance=instance,
        raise_on_error=False,
    )
    assert views.success
    built = {e.asset_key for e in views.get_asset_materialization_events()}
    assert AssetKey(["livechat_views", "stg_livechat__chats_total_chats"]) in built
    totals = dict(
        query(
            destination,
            "livechat_reports",
            "select account_id, count(*) from livechat_reports.stg_livechat__chats_total_chats"
            " group by account_id",
        )
    )
    assert totals == {"acme-id": 31, "globex-id": 31, "initech-id": 13}

    for name in NAMES:
        alone(monkeypatch, name)
        single = ["--dataset", f"alone_{name}", "--pipeline-name", f"alone_{name}"]
        rehearse(api, monkeypatch, at(TODAY, 0) + 3600 * 6)
        assert main(["load", *options, *single, "--no-transform"]) == 0
        rehearse(api, monkeypatch, at(TODAY, 0) + 3600 * 20)
        assert main(["load", *options, *single, "--no-transform"]) == 0
        assert_equal_to_alone(destination, name)


def test_a_revoked_account_fails_its_shard_run_while_the_others_load(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    instance: DagsterInstance,
) -> None:
    emulator, api = accounts
    configure(emulator, monkeypatch, None)  # one shard (the default): all three accounts
    monkeypatch.setenv("SOURCES__LIVECHAT__REPORTS", "chats_total_chats")
    api.revoke("globex-id")
    failed = load(instance, None)
    assert not failed.success
    # The others' rows are loaded and materialized before the step fails.
    table = metadata_of(failed)["chats_total_chats"]
    assert table["accounts_loaded"].value == "acme (acme-id), initech (initech-id)"
    assert table["accounts_failed"].value == "globex (globex-id)"
    assert table["rows_by_account"].value == {"acme-id": 31, "initech-id": 13}
    assert table["rows_loaded"].value == 44
    loaded = dict(
        query(
            None,
            "livechat_reports",
            "select account_id, count(*) from livechat_reports.chats_total_chats"
            " group by account_id",
        )
    )
    assert loaded == {"acme-id": 31, "initech-id": 13}
    message = failure_of(failed)
    assert "Account `globex` (account_id globex-id) failed" in message
    assert "HTTP 401" in message
    assert "Fix its section [sources.livechat.accounts.globex]" in message
    assert "The shard's other accounts were loaded: acme (acme-id), initech (initech-id)" in message
    assert "materialize partition `shard_0` again" in message
    # A revoked token is not retried: a later attempt would get the same answer.
    assert DagsterEventType.STEP_UP_FOR_RETRY not in {e.event_type for e in failed.all_events}
    # No token in anything Dagster recorded.
    logged = " ".join(
        str(record.dagster_event or record.user_message)
        for record in instance.all_logs(failed.run_id)
    )
    assert "globex" in logged
    assert all(token(n) not in logged for n in NAMES)

    # Restored, globex loads its whole history: its cursors did not move.
    api.restore("globex-id")
    assert load(instance, None).success
    first = query(
        None,
        "livechat_reports",
        "select min(report_date), count(*) from livechat_reports.chats_total_chats"
        " where account_id = 'globex-id'",
    )
    assert first == [(TODAY - dt.timedelta(days=30), 31)]


def test_a_shard_run_is_retried_only_when_every_failure_may_pass_later() -> None:
    def account(name: str) -> Account:
        return Account(name, credentials(f"{name}-id", token(name)))

    def failed(name: str, status: int) -> AccountResult:
        error = LiveChatAPIError(
            "chats/total_chats",
            "2026-11-01..2026-11-07",
            status=status,
            error_type=None,
            api_message="no",
        )
        return AccountResult(account(name), "livechat_reports_shard_0", error=error)

    loaded = AccountResult(
        account("acme"), "livechat_reports_shard_0", summary=LoadSummary(load_id="1")
    )
    busy = accounts_failure("shard_0", [loaded, failed("globex", 503)])
    assert busy.allow_retries
    assert "Account `globex` (account_id globex-id) failed" in (busy.description or "")
    assert "The run is retried" in (busy.description or "")
    # One account that needs a fix: no retry would pass, so none is made.
    mixed = accounts_failure("shard_0", [loaded, failed("globex", 503), failed("initech", 401)])
    assert not mixed.allow_retries
    description = mixed.description or ""
    assert "Account `globex` (account_id globex-id) failed" in description
    assert "Fix its section [sources.livechat.accounts.initech]" in description
    assert mixed.metadata["failed_accounts"].value == "globex, initech"
    # One error for every account is the shard's, said once.
    together = failed("acme", 503)
    shared = AccountResult(account("globex"), "livechat_reports_shard_0", error=together.error)
    whole = accounts_failure("shard_0", [together, shared])
    assert whole.allow_retries
    assert (whole.description or "").startswith(
        "Shard `shard_0` (acme (acme-id), globex (globex-id)) failed: "
    )


def test_a_date_range_backfill_is_run_config_on_the_same_assets(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    instance: DagsterInstance,
) -> None:
    emulator, _ = accounts
    configure(emulator, monkeypatch, None)  # one shard: all three accounts
    # Some reports only, as `reports` in [sources.livechat] selects them: the others' assets
    # are not materialized, and the run still succeeds.
    monkeypatch.setenv("SOURCES__LIVECHAT__REPORTS", "chats_total_chats,chats_ratings")
    start, end = TODAY - dt.timedelta(days=9), TODAY - dt.timedelta(days=5)
    config = {"start_date": start.isoformat(), "end_date": end.isoformat(), "backfill": True}
    backfill = load(instance, None, "shard_0", config)
    assert backfill.success
    assert {e.asset_key.path[-1] for e in backfill.get_asset_materialization_events()} == {
        "chats_total_chats",
        "chats_ratings",
        "report_requests",
        "account_loads",
        "account_cursors",
        "_dlt_loads",
    }

    def days(account: str) -> list[dt.date]:
        rows = query(
            None,
            "livechat_reports",
            "select report_date from livechat_reports.chats_total_chats where account_id = %s"
            " order by 1",
            account,
        )
        return [r[0] for r in rows]

    # The whole shard, both ends included (Dagster's own time windows would exclude the end).
    for name in NAMES:
        assert days(f"{name}-id") == [start + dt.timedelta(days=i) for i in range(5)], name
    # The backfill left the incremental state alone: the next daily run starts from scratch.
    assert load(instance, None).success
    assert days("acme-id") == [TODAY - dt.timedelta(days=30 - i) for i in range(31)]
    assert days("initech-id") == [TODAY - dt.timedelta(days=12 - i) for i in range(13)]
    # Dagster's runs and the command share each account's cursors.
    emulator.stats.reset()
    assert main(["load", "--accounts", "acme", "--no-transform"]) == 0
    assert 0 < emulator.stats.total() < 80


def test_the_group_breakdown_loads_through_the_same_assets(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    instance: DagsterInstance,
) -> None:
    """Per-group tables are assets too, and Dagster loads them as the command does."""
    emulator, _ = accounts
    configure(emulator, monkeypatch, None)
    assign(monkeypatch, {"acme": 0, "globex": 1, "initech": 0})
    monkeypatch.setenv("SOURCES__LIVECHAT__REPORTS", "chats_total_chats,chats_forms")
    monkeypatch.setenv("SOURCES__LIVECHAT__BREAKDOWNS", "group")
    start, end = TODAY - dt.timedelta(days=6), TODAY - dt.timedelta(days=4)
    config = {"start_date": start.isoformat(), "end_date": end.isoformat(), "backfill": True}
    run = load(instance, None, "shard_1", config)
    assert run.success
    assert {e.asset_key.path[-1] for e in run.get_asset_materialization_events()} == {
        "chats_total_chats",
        "chats_total_chats_by_group",
        "chats_forms",
        "chats_forms_by_group",
        "chats_form_answers",
        "chats_form_answers_by_group",
        "report_requests",
        "account_loads",
        "account_cursors",
        "_dlt_loads",
    }
    dates = ["--start-date", start.isoformat(), "--end-date", end.isoformat()]
    assert (
        main(["load", "--accounts", "globex", "--dataset", "by_hand", "--no-transform", *dates])
        == 0
    )
    with reader(None) as run:
        for table in ("chats_total_chats_by_group", "chats_form_answers_by_group"):
            got = table_rows(run, "livechat_reports", table, "globex-id")
            assert got, table
            assert got == table_rows(run, "by_hand", table, "globex-id"), table


def planned_reports(assets_def: Any) -> set[str]:
    return {k.path[-1] for k in assets_def.keys}


def test_per_group_assets_are_planned_only_where_an_account_loads_the_breakdown(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    instance: DagsterInstance,
) -> None:
    """Without the breakdown no `*_by_group` asset stands "never materialized" after a run."""
    emulator, _ = accounts
    configure(emulator, monkeypatch, None)
    assign(monkeypatch, {"acme": 0, "globex": 0, "initech": 1})
    monkeypatch.setenv("SOURCES__LIVECHAT__REPORTS", "chats_total_chats,chats_forms")
    partitions = shard_partitions(2)
    plain = report_assets(partitions)
    assert not {t for t in planned_reports(plain) if t.endswith("_by_group")}
    day = (TODAY - dt.timedelta(days=3)).isoformat()
    config = {"start_date": day, "end_date": day, "backfill": True}

    def run(assets_def: Any) -> Any:
        result = load(instance, None, "shard_0", config, reports=assets_def)
        assert result.success
        return result

    # Every planned asset is materialized by the run: none is left "never materialized".
    loaded = {e.asset_key.path[-1] for e in run(plain).get_asset_materialization_events()}
    assert planned_reports(plain) == loaded
    assert {"chats_total_chats", "chats_forms", "chats_form_answers"} <= loaded

    # One account turns the breakdown on in its section: the location plans the per-group
    # assets once it reloads; until then a run loads the tables and says how to see them.
    monkeypatch.setenv("SOURCES__LIVECHAT__ACCOUNTS__GLOBEX__BREAKDOWNS", '["group"]')
    stale = run(plain)
    assert {e.asset_key.path[-1] for e in stale.get_asset_materialization_events()} == loaded
    messages = [entry.user_message for entry in instance.all_logs(stale.run_id)]
    assert any("chats_total_chats_by_group" in m and "Reload it" in m for m in messages)
    assert table_rows_of("chats_total_chats_by_group", "globex-id")
    grouped = report_assets(partitions)
    by_group = {t for t in planned_reports(grouped) if t.endswith("_by_group")}
    assert {"chats_total_chats_by_group", "chats_forms_by_group"} <= by_group
    materialized = {e.asset_key.path[-1] for e in run(grouped).get_asset_materialization_events()}
    assert materialized == loaded | {
        "chats_total_chats_by_group",
        "chats_forms_by_group",
        "chats_form_answers_by_group",
    }

    # A [sources.livechat] default counts too, and an account's own empty list overrides it.
    monkeypatch.delenv("SOURCES__LIVECHAT__ACCOUNTS__GLOBEX__BREAKDOWNS")
    monkeypatch.setenv("SOURCES__LIVECHAT__BREAKDOWNS", "group")
    assert group_breakdown_configured()
    for name in NAMES:
        monkeypatch.setenv(f"SOURCES__LIVECHAT__ACCOUNTS__{name.upper()}__BREAKDOWNS", "[]")
    assert not group_breakdown_configured()


def table_rows_of(table: str, account_id: str) -> list[Any]:
    with reader(None) as run:
        return table_rows(run, "livechat_reports", table, account_id)


def test_one_partition_per_shard(monkeypatch: pytest.MonkeyPatch) -> None:
    assert location.build_definitions().get_repository_def().get_job(
        LOAD_JOB
    ).partitions_def.get_partition_keys() == ["shard_0"]  # the default: one shard
    monkeypatch.setenv("SOURCES__LIVECHAT__SHARDS", "4")
    defs = location.build_definitions()
    keys = ["shard_0", "shard_1", "shard_2", "shard_3"]
    for assets_def in defs.assets or []:
        if assets_def.partitions_def is not None:  # the views are not partitioned
            assert assets_def.partitions_def.get_partition_keys() == keys
    assert defs.get_repository_def().get_job(LOAD_JOB).partitions_def.get_partition_keys() == keys
    # Partitions are shards, not days: no single run over a backfill's time window, no
    # end-exclusive windows; a date range is run config (see the backfill test).
    assert not isinstance(
        defs.get_repository_def().get_job(LOAD_JOB).partitions_def,
        TimeWindowPartitionsDefinition,
    )
    monkeypatch.setenv("SOURCES__LIVECHAT__SHARDS", "0")
    with pytest.raises(AccountConfigError, match=r"`shards` under \[sources\.livechat\]"):
        location.build_definitions()


def test_the_daily_schedule_requests_one_run_per_shard(
    monkeypatch: pytest.MonkeyPatch, instance: DagsterInstance
) -> None:
    monkeypatch.setenv("SOURCES__LIVECHAT__SHARDS", "3")
    big = {"dagster-k8s/config": json.dumps({"container_config": {"resources": {}}})}
    defs = location.build_definitions(shard_tags=lambda shard: big if shard == 2 else {})
    repository = defs.get_repository_def()
    schedule = repository.get_schedule_def("livechat_accounts_daily")
    assert schedule.job_name == LOAD_JOB
    tick = dt.datetime(2026, 11, 20, 6, 15, tzinfo=dt.timezone.utc)
    context = build_schedule_context(
        instance=instance, scheduled_execution_time=tick, repository_def=repository
    )
    requests = schedule.evaluate_tick(context).run_requests or []
    assert all(isinstance(r, RunRequest) for r in requests)
    shards = ["shard_0", "shard_1", "shard_2"]
    assert [r.partition_key for r in requests] == shards
    assert [r.run_key for r in requests] == [f"{k}-2026-11-20" for k in shards]
    # A shard's own tags (its pod's resources on Kubernetes) reach its runs only.
    assert [r.tags.get("dagster-k8s/config") for r in requests] == [
        None,
        None,
        big["dagster-k8s/config"],
    ]
    assert all(r.tags["dagster/partition"] == k for r, k in zip(requests, shards, strict=True))
    # The views run by sensor after loads (test_dagster_checks.py), not on a daily schedule.
    assert [s.name for s in repository.schedule_defs] == ["livechat_accounts_daily"]
    assert repository.get_sensor_def("livechat_views_when_changed").job_name == "livechat_views"


def test_one_run_writes_the_destination_at_a_time(instance: DagsterInstance) -> None:
    defs = location.build_definitions(2)
    assets = list(defs.assets or [])
    assert len(assets) == 2
    for assets_def in assets:
        assert assets_def.op.pool == POOL
        assert assets_def.op.retry_policy == RETRY_POLICY
    pools = instance.get_concurrency_config().pool_config
    assert pools.default_pool_limit == 1
    assert str(pools.pool_granularity.value) == "run"


def test_the_executor_is_the_locations_choice() -> None:
    """A run is one shard with one step: the executor says only where that step runs."""
    default = location.build_definitions(1).get_repository_def().get_job(LOAD_JOB)
    assert default.executor_def is multi_or_in_process_executor
    chosen = location.build_definitions(1, executor=in_process_executor)
    for job in (LOAD_JOB, "livechat_views"):
        assert chosen.get_repository_def().get_job(job).executor_def is in_process_executor


def readme_dg_commands() -> dict[str, list[str]]:
    """The README's `dg` commands (On Dagster), by subcommand, as this environment runs them."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = {}
    for line in readme.splitlines():
        words = line.split("#")[0].split()
        if ".venv/bin/dg" not in words:
            continue
        at_dg = words.index(".venv/bin/dg")
        assert all(w == "DAGSTER_HOME=$PWD/.dagster" for w in words[:at_dg]), line
        commands[words[at_dg + 1]] = [str(Path(sys.executable).parent / "dg"), *words[at_dg + 1 :]]
    assert {"check", "dev", "launch"} <= set(commands), commands
    return commands


def test_the_readme_dg_commands_check_the_location_and_launch_a_shard(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    emulator, api = accounts
    configure(emulator, monkeypatch, None)
    assign(monkeypatch, {"acme": 0, "globex": 1, "initech": 1})
    monkeypatch.setenv("SOURCES__LIVECHAT__REPORTS", "chats_total_chats")
    rehearse(api, monkeypatch, at(TODAY, 6))
    db = tmp_path / "lc.duckdb"
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(db))
    home = tmp_path / ".dagster"
    home.mkdir()
    shutil.copy(DAGSTER_YAML, home / "dagster.yaml")
    commands = readme_dg_commands()

    def run(name: str) -> str:
        done = subprocess.run(
            commands[name],
            cwd=ROOT,  # "Run them in the project folder"
            env={**os.environ, "DAGSTER_HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        assert not any(token(n) in output for n in NAMES)
        return output

    assert "All definitions loaded successfully" in run("check")
    emulator.stats.reset()
    run("launch")  # shard 0: acme alone
    assert set(emulator.stats.requests_by_account) == {"acme-id"}
    runs = DagsterInstance.from_config(str(home)).get_runs()
    assert [(r.job_name, r.tags.get("dagster/partition"), r.is_success) for r in runs] == [
        (LOAD_JOB, "shard_0", True)
    ]
    with duckdb.connect(str(db), read_only=True) as connection:
        days = connection.execute(
            "select account_id, count(*) from livechat_reports.chats_total_chats group by 1"
        ).fetchall()
    assert days == [("acme-id", 31)]  # the first run's 30 days before today, and today


def test_code_locations_loading_at_once_read_one_whole_manifest(tmp_path: Path) -> None:
    """Three processes load the location with no manifest yet: one parses, all read its manifest.

    Parallel parses into one file left a manifest that dagster-dbt could not read (seen when
    two test workers loaded the location on a fresh machine).
    """
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    code = (
        "import json, sys, time\n"
        "time.sleep(float(sys.argv[1]))\n"
        "from pipelines.orchestration.project import PROJECT, prepare_manifest\n"
        "manifest = json.loads(prepare_manifest(PROJECT).read_text())\n"
        "models = sum(n.startswith('model.') for n in manifest['nodes'])\n"
        "print(models, manifest['metadata']['invocation_id'])\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(delay)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for delay in (0, 1.5, 3)  # each starts before the one before has written it
    ]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    package_models = len(list((ROOT / "transforms" / "models").rglob("*.sql")))
    assert {int(out.split()[0]) for out, _ in outputs} == {package_models}
    # one parse wrote it (dagster-dbt's preparer, under dagster's guard), the others waited
    assert len({out.split()[1] for out, _ in outputs}) == 1, outputs


def test_the_deployed_manifest_is_read_as_prepared_and_parsed_again_when_stale(
    tmp_path: Path,
) -> None:
    """The dagster-dbt way: prepared at deploy time, parsed on every load under `dagster dev`."""
    bin_dir = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != bin_dir)
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PYTHONPATH": str(ROOT),
        "PATH": path,  # as with a virtual environment not activated
    }
    env.pop("DAGSTER_IS_DEV_CLI", None)
    # The deploy step, as `make venv` runs it.
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "dagster-dbt project prepare-and-package --file pipelines/orchestration/project.py" in (
        makefile
    )
    prepared = subprocess.run(
        [
            str(Path(bin_dir) / "dagster-dbt"),
            *["project", "prepare-and-package", "--file", "pipelines/orchestration/project.py"],
        ],
        cwd=ROOT,
        env={**env, "PATH": os.pathsep.join([bin_dir, path])},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    code = (
        "from pipelines.orchestration.project import PROJECT, prepare_manifest\n"
        "import json\n"
        "print(json.loads(prepare_manifest(PROJECT).read_text())['metadata']['invocation_id'])\n"
    )

    def loaded(**more: str) -> tuple[str, Path]:
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            env={**env, **more},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        manifests = list((tmp_path / "cache" / "livechat-reports").glob("*/manifest.json"))
        assert len(manifests) == 1, manifests
        return done.stdout.strip(), manifests[0]

    deployed, manifest = loaded()
    assert loaded()[0] == deployed  # read as prepared, not parsed again
    os.utime(manifest, (0, 0))  # older than the package: a model edited since
    stale = loaded()[0]
    assert stale != deployed
    assert loaded()[0] == stale
    assert loaded(DAGSTER_IS_DEV_CLI="1")[0] != stale  # `dagster dev`: parsed on every load


def test_an_account_loaded_alone_before_is_compared_with_its_rows(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    instance: DagsterInstance,
) -> None:
    emulator, _ = accounts
    configure(emulator, monkeypatch, None)
    alone(monkeypatch, "acme")
    monkeypatch.setenv("SOURCES__LIVECHAT__REPORTS", "chats_total_chats")
    assert main(["load", "--no-transform"]) == 0
    configure(emulator, monkeypatch, None)
    monkeypatch.setenv("SOURCES__LIVECHAT__ACCOUNTS__ACME__TIMEZONE", "Europe/Warsaw")
    emulator.stats.reset()
    result = load(instance, None)
    assert not result.success
    message = failure_of(result)
    assert message.startswith("Shard `shard_0` (acme (acme-id), globex (globex-id),")
    assert "Account `acme`" in message
    assert "`timezone` was `UTC`, this run asks for `Europe/Warsaw`" in message
    assert DagsterEventType.STEP_UP_FOR_RETRY not in {e.event_type for e in result.all_events}
    assert emulator.stats.total() == 0  # refused before any request, for the whole shard


def test_a_stale_account_fails_the_views_run_naming_it(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    instance: DagsterInstance,
) -> None:
    """The freshness test runs in the views job: a revoked account's age fails the run."""
    emulator, api = accounts
    configure(emulator, monkeypatch, None)
    monkeypatch.setenv("SOURCES__LIVECHAT__REPORTS", "chats_total_chats")
    first = dt.datetime.combine(TODAY, dt.time(6, 15), dt.timezone.utc)
    for day in (0, 2):
        rehearse(api, monkeypatch, (first + dt.timedelta(days=day)).timestamp())
        if day == 2:
            api.revoke("globex-id")  # its shard's runs fail from now on; the others load
        assert load(instance, None).success is (day == 0), day
    views = materialize(
        [model_assets()],
        resources={"dbt": dbt_resource(), "warehouse": warehouse(None)},
        instance=instance,
        raise_on_error=False,
    )
    assert not views.success
    # a failed test is not retried: the data would still be stale
    assert DagsterEventType.STEP_UP_FOR_RETRY not in {e.event_type for e in views.all_events}
    logged = " ".join(
        str(record.dagster_event or record.user_message)
        for record in instance.all_logs(views.run_id)
    )
    assert "configured_accounts_loaded_recently" in logged
    assert "Accounts not loaded successfully in the last 26 hours: globex-id" in logged
    assert "acme-id (last loaded" not in logged


def test_a_run_killed_in_its_load_step_is_finished_by_the_next_run(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    instance: DagsterInstance,
) -> None:
    """The Dagster run goes through the command's load path: a package left is finished."""
    emulator, _ = accounts
    configure(emulator, monkeypatch, None)
    assign(monkeypatch, {"acme": 0, "globex": 1, "initech": 1})
    killed = subprocess.run(
        [sys.executable, "-m", "tests.e2e.dagster_crash", "load", "3", "shard_0"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert killed.returncode == -9, killed.stdout + killed.stderr
    committed = query(None, "livechat_reports", "select count(*) from livechat_reports._dlt_loads")
    assert committed == [(0,)]  # killed before dlt recorded the load

    result = load(instance, None, "shard_0")
    assert result.success
    # one load finished the killed run's package, one loaded the lookback days again
    assert query(None, "livechat_reports", "select count(*) from livechat_reports._dlt_loads") == [
        (2,)
    ]
    table = metadata_of(result)["chats_total_chats"]
    assert table["table"].value == "livechat_reports.chats_total_chats"
    assert table["accounts_loaded"].value == "acme (acme-id)"
    written = query(
        None,
        "livechat_reports",
        "select count(*) from livechat_reports.chats_total_chats where _dlt_load_id = %s",
        table["load_id"].value,
    )
    assert written == [(table["rows_loaded"].value,)] and 0 < written[0][0] < 31

    alone(monkeypatch, "acme")
    single = ["--dataset", "alone_acme", "--pipeline-name", "alone_acme", "--no-transform"]
    assert main(["load", *single]) == 0
    assert_equal_to_alone(None, "acme")


def test_a_changed_meaning_on_dagster_names_the_run_config_not_only_the_commands_options() -> None:
    from sources.livechat.meaning import Change, DatasetMeaningChanged

    changed = DatasetMeaningChanged("livechat_reports", [Change("timezone", "UTC", "Asia/Tokyo")])
    failure = shard_failure("0", [], changed)
    assert "`timezone` was `UTC`" in str(failure.description)
    assert "`refresh: true`" in str(failure.description)
    assert "dataset_name" in str(failure.description)
    assert not failure.allow_retries  # bad input: a retry would fail the same way
    other = shard_failure("0", [], AccountConfigError("a section without account_id"))
    assert "refresh: true" not in str(other.description)
