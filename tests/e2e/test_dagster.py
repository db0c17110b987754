"""Many accounts on Dagster: the code location in process, against the emulator over loopback.

Each account is a partition of the report assets; a run of one partition must load that
account exactly as its own single-account load does, on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

dagster = pytest.importorskip("dagster", reason="the `dagster` extra is not installed")

from dagster import (  # noqa: E402
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    RunRequest,
    TimeWindowPartitionsDefinition,
    build_schedule_context,
    materialize,
)
from dagster_dlt import DagsterDltResource  # noqa: E402

from pipelines.cli import main  # noqa: E402
from pipelines.orchestration import definitions as location  # noqa: E402
from pipelines.orchestration.jobs import LOAD_JOB  # noqa: E402
from pipelines.orchestration.loads import (  # noqa: E402
    POOL,
    RETRY_POLICY,
    account_partitions,
    report_assets,
)
from pipelines.orchestration.views import dbt_resource, view_assets  # noqa: E402
from pipelines.orchestration.warehouse import LiveChatWarehouse  # noqa: E402
from sources.livechat_emulator import Emulator  # noqa: E402
from sources.livechat_emulator.accounts import Accounts  # noqa: E402
from tests.e2e.conftest import at, rehearse  # noqa: E402
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


def load(
    instance: DagsterInstance, db: str | None, name: str, config: dict[str, Any] | None = None
) -> Any:
    """Materialize the report assets for one account, in process, as a scheduled run would."""
    reports = report_assets(account_partitions(NAMES))
    return materialize(
        [reports],
        partition_key=name,
        resources={"dlt": DagsterDltResource(), "warehouse": warehouse(db)},
        instance=instance,
        run_config={"ops": {"livechat_reports": {"config": config or {}}}},
        raise_on_error=False,
    )


def test_three_accounts_through_dagster_load_as_each_would_alone(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    destination: str | None,
    monkeypatch: pytest.MonkeyPatch,
    instance: DagsterInstance,
) -> None:
    emulator, api = accounts
    options = configure(emulator, monkeypatch, destination)
    # Two rounds: the second re-fetches the lookback days of every account, so a merge scoped
    # by day without the account would delete the others' rows; and dagster-dlt drops the local
    # state before each run, so the second round must resume from the destination's state.
    for now_hour in (6, 20):
        rehearse(api, monkeypatch, at(TODAY, 0) + 3600 * now_hour)
        for name in NAMES:
            emulator.stats.reset()
            result = load(instance, destination, name)
            assert result.success, name
            keys = {e.asset_key for e in result.get_asset_materialization_events()}
            assert AssetKey(["livechat", "chats_total_chats"]) in keys
            assert AssetKey(["livechat", "chats_form_answers"]) in keys
            assert {e.partition for e in result.get_asset_materialization_events()} == {name}
            # Only this account's token was used.
            assert set(emulator.stats.requests_by_account) == {f"{name}-id"}
            if now_hour == 20:
                # Incremental: the lookback days, not the history again (state restored).
                assert emulator.stats.total() < 80, (name, emulator.stats.total())

    # One pipeline (and dlt state) per account, one staging dataset per account.
    pipelines = {
        r[0]
        for r in query(
            destination,
            "livechat_reports",
            "select distinct pipeline_name from livechat_reports._dlt_pipeline_state",
        )
    }
    assert pipelines == {f"livechat_reports_{name}" for name in NAMES}
    schemas = {
        r[0]
        for r in query(
            destination, "livechat_reports", "select schema_name from information_schema.schemata"
        )
        if r[0].startswith("livechat_reports_staging")
    }
    assert schemas == {f"livechat_reports_staging_{name}" for name in NAMES}
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
        [view_assets()],
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
        as_single_account(monkeypatch, name)
        single = ["--dataset", f"alone_{name}", "--pipeline-name", f"alone_{name}"]
        rehearse(api, monkeypatch, at(TODAY, 0) + 3600 * 6)
        assert main(["load", *options, *single, "--no-transform"]) == 0
        rehearse(api, monkeypatch, at(TODAY, 0) + 3600 * 20)
        assert main(["load", *options, *single, "--no-transform"]) == 0
        assert_equal_to_alone(destination, name)


def test_a_revoked_account_fails_its_partition_only(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    instance: DagsterInstance,
) -> None:
    emulator, api = accounts
    configure(emulator, monkeypatch, None)
    api.revoke("globex-id")
    results = {name: load(instance, None, name) for name in NAMES}
    assert results["acme"].success and results["initech"].success
    failed = results["globex"]
    assert not failed.success
    failures = failed.get_step_failure_events()
    assert len(failures) == 1
    user_failure = failures[0].step_failure_data.user_failure_data
    assert user_failure is not None
    message = user_failure.description or ""
    assert "Account `globex` (account_id globex-id) failed" in message
    assert "HTTP 401" in message
    assert "Fix its section [sources.livechat.accounts.globex]" in message
    # A revoked token is not retried: a later attempt would get the same answer.
    types = {e.event_type for e in failed.all_events}
    assert DagsterEventType.STEP_UP_FOR_RETRY not in types
    # No token in anything Dagster recorded.
    logged = " ".join(
        str(record.dagster_event or record.user_message)
        for run in (r.run_id for r in results.values())
        for record in instance.all_logs(run)
    )
    assert "globex" in logged
    assert all(token(n) not in logged for n in NAMES)
    loaded = dict(
        query(
            None,
            "livechat_reports",
            "select account_id, count(*) from livechat_reports.chats_total_chats"
            " group by account_id",
        )
    )
    assert loaded == {"acme-id": 31, "initech-id": 13}

    # Restored, globex loads its whole history from its own state.
    api.restore("globex-id")
    assert load(instance, None, "globex").success
    first = query(
        None,
        "livechat_reports",
        "select min(report_date), count(*) from livechat_reports.chats_total_chats"
        " where account_id = 'globex-id'",
    )
    assert first == [(TODAY - dt.timedelta(days=30), 31)]


def test_a_date_range_backfill_is_run_config_on_the_same_assets(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    instance: DagsterInstance,
) -> None:
    emulator, _ = accounts
    configure(emulator, monkeypatch, None)
    # Some reports only, as `reports` in [sources.livechat] selects them: the others' assets
    # are not materialized, and the run still succeeds.
    monkeypatch.setenv("SOURCES__LIVECHAT__REPORTS", "chats_total_chats,chats_ratings")
    start, end = TODAY - dt.timedelta(days=9), TODAY - dt.timedelta(days=5)
    config = {"start_date": start.isoformat(), "end_date": end.isoformat(), "backfill": True}
    backfill = load(instance, None, "acme", config)
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

    # Both ends included (Dagster's own time windows would have excluded the end).
    assert days("acme-id") == [start + dt.timedelta(days=i) for i in range(5)]
    # The backfill left the incremental state alone: the next daily run starts from scratch.
    assert load(instance, None, "acme").success
    assert days("acme-id") == [TODAY - dt.timedelta(days=30 - i) for i in range(31)]
    # Dagster's command-line runs and the command share each account's state.
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
    monkeypatch.setenv("SOURCES__LIVECHAT__REPORTS", "chats_total_chats,chats_forms")
    monkeypatch.setenv("SOURCES__LIVECHAT__BREAKDOWNS", "group")
    start, end = TODAY - dt.timedelta(days=6), TODAY - dt.timedelta(days=4)
    config = {"start_date": start.isoformat(), "end_date": end.isoformat(), "backfill": True}
    run = load(instance, None, "globex", config)
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


def test_the_daily_schedule_requests_one_run_per_account(
    monkeypatch: pytest.MonkeyPatch, instance: DagsterInstance
) -> None:
    for name in NAMES:
        monkeypatch.setenv(f"SOURCES__LIVECHAT__ACCOUNTS__{name.upper()}__ACCOUNT_ID", f"{name}-id")
    defs = location.build_definitions()
    repository = defs.get_repository_def()
    schedule = repository.get_schedule_def("livechat_accounts_daily")
    assert schedule.job_name == LOAD_JOB
    tick = dt.datetime(2026, 11, 20, 6, 15, tzinfo=dt.timezone.utc)
    context = build_schedule_context(
        instance=instance, scheduled_execution_time=tick, repository_def=repository
    )
    requests = schedule.evaluate_tick(context).run_requests or []
    assert all(isinstance(r, RunRequest) for r in requests)
    assert [r.partition_key for r in requests] == sorted(NAMES)
    assert [r.run_key for r in requests] == [f"{n}-2026-11-20" for n in sorted(NAMES)]
    # Each request is a run of one account's partition of the load job.
    job = repository.get_job(LOAD_JOB)
    assert job.partitions_def is not None
    assert job.partitions_def.get_partition_keys() == sorted(NAMES)
    # Partitions are accounts, not days: no single run over a backfill's time window, no
    # end-exclusive windows; a date range is run config (see the backfill test).
    assert not isinstance(job.partitions_def, TimeWindowPartitionsDefinition)
    assert repository.get_schedule_def("livechat_views_daily").job_name == "livechat_views"


def test_one_run_writes_the_destination_at_a_time(instance: DagsterInstance) -> None:
    defs = location.build_definitions(NAMES)
    assets = list(defs.assets or [])
    assert len(assets) == 2
    for assets_def in assets:
        assert assets_def.op.pool == POOL
        assert assets_def.op.retry_policy == RETRY_POLICY
    pools = instance.get_concurrency_config().pool_config
    assert pools.default_pool_limit == 1
    assert str(pools.pool_granularity.value) == "run"


def test_dagster_definitions_validate_loads_the_code_location(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SOURCES__LIVECHAT__ACCOUNTS__")
    }
    env["SOURCES__LIVECHAT__ACCOUNTS__ACME__ACCOUNT_ID"] = "acme-id"
    env["SOURCES__LIVECHAT__ACCOUNTS__ACME__PERSONAL_ACCESS_TOKEN"] = token("acme")
    env["DAGSTER_HOME"] = str(tmp_path)
    shutil.copy(DAGSTER_YAML, tmp_path / "dagster.yaml")
    # The README's command, as written there.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(x for x in readme.splitlines() if x.startswith("dagster definitions validate"))
    words = line.split("#")[0].split()
    command = [str(Path(sys.executable).parent / words[0]), *words[1:]]
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Validation successful" in output
    assert token("acme") not in output


def test_code_locations_loading_at_once_read_one_whole_manifest(tmp_path: Path) -> None:
    """Three processes load the location with no manifest yet: one parses, all read its manifest.

    Parallel parses into one file left a manifest that dagster-dbt could not read (seen when
    two test workers loaded the location on a fresh machine).
    """
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    code = (
        "import json, sys, time\n"
        "time.sleep(float(sys.argv[1]))\n"
        "from pipelines.orchestration.views import dbt_project, prepare_manifest\n"
        "manifest = json.loads(prepare_manifest(dbt_project()).read_text())\n"
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
    # one parse wrote it, the others waited for it and read it
    assert len({out.split()[1] for out, _ in outputs}) == 1, outputs
    cache = tmp_path / "cache" / "livechat-reports"
    assert [p.name for p in cache.iterdir() if ".parse-" in p.name] == []


def test_an_account_loaded_alone_before_is_compared_with_its_rows(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    instance: DagsterInstance,
) -> None:
    emulator, _ = accounts
    configure(emulator, monkeypatch, None)
    as_single_account(monkeypatch, "acme")
    assert main(["load", "--no-transform"]) == 0
    configure(emulator, monkeypatch, None)
    monkeypatch.setenv("SOURCES__LIVECHAT__ACCOUNTS__ACME__TIMEZONE", "Europe/Warsaw")
    emulator.stats.reset()
    result = load(instance, None, "acme")
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert failure is not None
    assert "Account `acme` (account_id acme-id) failed" in (failure.description or "")
    assert "`timezone` was `UTC`, this run asks for `Europe/Warsaw`" in (failure.description or "")
    assert DagsterEventType.STEP_UP_FOR_RETRY not in {e.event_type for e in result.all_events}
    assert emulator.stats.total() == 0


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
    for day, names in ((0, NAMES), (2, ("acme", "initech"))):  # globex revoked after day 0
        now = first + dt.timedelta(days=day)
        api.now = now.timestamp()
        monkeypatch.setenv("LIVECHAT_REPORTS_NOW", now.isoformat())
        for name in names:
            assert load(instance, None, name).success, name
    views = materialize(
        [view_assets()],
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
    killed = subprocess.run(
        [sys.executable, "-m", "tests.e2e.crash_driver", "load", "3", "--dagster", "acme"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert killed.returncode == -9, killed.stdout + killed.stderr
    committed = query(None, "livechat_reports", "select count(*) from livechat_reports._dlt_loads")
    assert committed == [(0,)]  # killed before dlt recorded the load

    result = load(instance, None, "acme")
    assert result.success
    # one load finished the killed run's package, one loaded the lookback days again
    assert query(None, "livechat_reports", "select count(*) from livechat_reports._dlt_loads") == [
        (2,)
    ]
    metadata = {
        e.asset_key.path[-1]: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    table = metadata["chats_total_chats"]
    assert table["table"].value == "livechat_reports.chats_total_chats"
    written = query(
        None,
        "livechat_reports",
        "select count(*) from livechat_reports.chats_total_chats where _dlt_load_id = %s",
        table["load_id"].value,
    )
    assert written == [(table["rows_loaded"].value,)] and 0 < written[0][0] < 31

    as_single_account(monkeypatch, "acme")
    single = ["--dataset", "alone_acme", "--pipeline-name", "alone_acme", "--no-transform"]
    assert main(["load", *single]) == 0
    assert_equal_to_alone(None, "acme")
