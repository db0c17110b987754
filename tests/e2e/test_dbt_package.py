"""The dbt package end to end: built through the command, tested by dbt, skipped when nothing
changed, run by hand with the profile it ships, and installed by another dbt project."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.cli import main
from tests.e2e.conftest import Loader, at
from transforms import PROJECT_DIR

TODAY = dt.date(2026, 11, 18)
FIRST, LAST = dt.date(2026, 10, 1), dt.date(2026, 11, 17)
BIN = Path(sys.executable).parent


def dbt(
    *args: str, cwd: Path, env: dict[str, str], unset: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run the dbt command of this environment, as a user would (without the `unset` variables)."""
    environment = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **env}
    for name in unset:
        environment.pop(name, None)
    return subprocess.run(
        [str(BIN / "dbt"), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def marts(db: Path, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Rows of three marts; floats to 9 decimals (DuckDB sums doubles in parallel)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            mart: sorted(
                (
                    tuple(round(v, 9) if isinstance(v, float) else v for v in row)
                    for row in con.execute(f"select * from {schema}.{mart}").fetchall()
                ),
                key=repr,
            )
            for mart in ("kpi_monthly", "agent_scorecard_monthly", "tag_usage_weekly")
        }


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file with six weeks of every report and the views the pipeline built."""
    from sources.livechat_emulator import Emulator, ReportsAPI

    folder = tmp_path_factory.mktemp("package")
    previous = os.environ.get("DLT_DATA_DIR")
    os.environ["DLT_DATA_DIR"] = str(folder / "dlt")
    try:
        with Emulator(ReportsAPI(now=at(TODAY))) as emulator:
            loader = Loader(emulator, folder / "livechat.duckdb")
            loader.run(TODAY, start_date=FIRST, end_date=LAST, backfill=True, transform=True)
    finally:
        if previous is None:
            os.environ.pop("DLT_DATA_DIR")
        else:
            os.environ["DLT_DATA_DIR"] = previous
    return folder / "livechat.duckdb"


def test_the_package_runs_by_hand_with_the_profile_it_ships(loaded: Path, tmp_path: Path) -> None:
    built = marts(loaded, "livechat_reports")
    env = {"LIVECHAT_DUCKDB_PATH": str(loaded)}
    target = ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
    done = dbt(
        "build", "--profiles-dir", "profiles", "--project-dir", ".", *target, cwd=PROJECT_DIR, env=env
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "ERROR=0" in done.stdout and "PASS=" in done.stdout
    assert marts(loaded, "livechat_reports") == built
    assert not (PROJECT_DIR / "target").exists() and not (PROJECT_DIR / "logs").exists()


def views(db: Path) -> dict[str, str]:
    """The SQL of every view of the dataset, by name."""
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select view_name, sql from duckdb_views() where schema_name = 'livechat_reports'"
        ).fetchall()
    return dict(rows)


def test_a_mistyped_schema_fails_the_build_and_leaves_the_views_alone(
    loaded: Path, tmp_path: Path
) -> None:
    built, sql = marts(loaded, "livechat_reports"), views(loaded)
    env = {"LIVECHAT_DUCKDB_PATH": str(loaded)}
    target = ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
    mistyped = ["--vars", "{livechat_schema: livechat_reportz}"]
    done = dbt(
        "build", "--profiles-dir", "profiles", "--project-dir", ".", *target, *mistyped,
        cwd=PROJECT_DIR, env=env,
    )  # fmt: skip
    assert done.returncode != 0, done.stdout[-3000:]
    out = " ".join(done.stdout.split())
    assert "No loaded LiveChat table" in out, out[-3000:]
    assert f"in schema `livechat_reportz` of DuckDB file `{loaded}`" in out, out[-3000:]
    assert "set `livechat_schema`" in out and "LIVECHAT_DUCKDB_PATH" in out, out[-3000:]
    assert "PASS=" not in out  # nothing was built
    # the views built from the loaded tables are untouched and still read their rows
    assert views(loaded) == sql
    assert marts(loaded, "livechat_reports") == built and built["kpi_monthly"]


def test_dbt_never_creates_a_duckdb_file(loaded: Path, tmp_path: Path) -> None:
    target = ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
    build = ("build", "--profiles-dir", "profiles", "--project-dir", ".", *target)
    stray = PROJECT_DIR / "livechat.duckdb"
    assert not stray.exists()
    try:
        # from transforms/ without LIVECHAT_DUCKDB_PATH: the default, ./livechat.duckdb, is missing
        done = dbt(*build, cwd=PROJECT_DIR, env={}, unset=("LIVECHAT_DUCKDB_PATH",))
        assert not stray.exists()
    finally:
        stray.unlink(missing_ok=True)
    assert done.returncode != 0, done.stdout[-3000:]
    out = " ".join(done.stdout.split())
    assert f"DuckDB file `{stray}` does not exist; dbt does not create it." in out, out[-3000:]
    assert "Set LIVECHAT_DUCKDB_PATH to the file `livechat-reports load` wrote" in out

    # a mistyped path
    missing = tmp_path / "livechat-typo.duckdb"
    done = dbt(*build, cwd=PROJECT_DIR, env={"LIVECHAT_DUCKDB_PATH": str(missing)})
    assert done.returncode != 0 and f"DuckDB file `{missing}` does not exist" in done.stdout
    assert not missing.exists()


def test_another_dbt_project_installs_the_package_and_builds_it(
    loaded: Path, tmp_path: Path
) -> None:
    # a copy, so that `dbt deps` links and dbt's output stay out of the repository
    package = tmp_path / "transforms"
    shutil.copytree(PROJECT_DIR, package, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    project = package / "integration_tests"
    env = {"LIVECHAT_DUCKDB_PATH": str(loaded)}
    deps = dbt("deps", "--profiles-dir", ".", cwd=project, env=env)
    assert deps.returncode == 0, deps.stdout[-3000:]
    built = dbt("build", "--profiles-dir", ".", cwd=project, env=env)
    assert built.returncode == 0, built.stdout[-3000:]
    # the package's views in the user's schema, over the pipeline's tables: the same numbers
    assert marts(loaded, "analytics") == marts(loaded, "livechat_reports")

    # a mistyped schema fails the build before the user's views are replaced by empty ones
    mistyped = dbt(
        "build", "--profiles-dir", ".", "--vars", "{livechat_schema: livechat_reportz}",
        cwd=project, env=env,
    )  # fmt: skip
    assert mistyped.returncode != 0, mistyped.stdout[-3000:]
    assert "No loaded LiveChat table" in mistyped.stdout and "livechat_reportz" in mistyped.stdout
    assert marts(loaded, "analytics") == marts(loaded, "livechat_reports")


def test_a_duplicated_row_fails_the_transform_naming_the_test(
    make_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    loader = Loader(make_emulator(now=at(TODAY)), tmp_path / "livechat.duckdb")
    loader.run(TODAY, start_date=LAST - dt.timedelta(days=6), end_date=LAST, backfill=True)
    with loader.pipeline.sql_client() as client:
        table = client.make_qualified_table_name("chats_ratings")
        client.execute_sql(
            f"insert into {table} select * from {table} where report_date = %s", LAST
        )
    monkeypatch.chdir(tmp_path)
    assert main(["transform"]) == 1
    err = capsys.readouterr().err
    assert "dbt build failed: test source_grain_livechat_chats_ratings" in err, err
    assert "[fail]: Got 1 result, configured to fail if != 0" in err, err
    assert "Traceback" not in err


def test_views_are_built_only_when_the_package_or_the_tables_columns_change(
    make_emulator: Any, tmp_path: Path
) -> None:
    loader = Loader(make_emulator(now=at(TODAY)), tmp_path / "livechat.duckdb")
    days = {"start_date": LAST - dt.timedelta(days=6), "end_date": LAST, "backfill": True}
    first = loader.run(TODAY, reports=["chats_total_chats"], transform=True, **days)
    assert first.transform is not None and "kpi_daily" in first.transform.built
    assert first.transform.no_data and "chats_total_chats" not in first.transform.no_data

    again = loader.run(TODAY, reports=["chats_total_chats"], transform=True, **days)
    assert again.transform is not None and again.transform.unchanged and not again.transform.built
    assert loader.query("select count(*) as n from lr.kpi_daily")[0]["n"] == 7

    # a report loaded for the first time brings a table: the views are built again
    more = loader.run(TODAY, reports=["chats_ratings"], transform=True, **days)
    assert (
        more.transform is not None
        and not more.transform.unchanged
        and "kpi_daily" in more.transform.built
    )
    (row,) = loader.query("select count(satisfaction_rate) as n from lr.kpi_daily")
    assert row["n"] == 7

    # views dropped by hand are noticed
    with loader.pipeline.sql_client() as client:
        client.execute_sql(f"drop view {client.make_qualified_table_name('kpi_monthly')}")
    rebuilt = loader.run(TODAY, reports=["chats_ratings"], transform=True, **days)
    assert rebuilt.transform is not None and "kpi_monthly" in rebuilt.transform.built


def test_the_views_work_in_a_renamed_copy_of_the_file(loaded: Path, tmp_path: Path) -> None:
    """dbt-duckdb names the database after the file; the views must not depend on that name."""
    copy = tmp_path / "renamed-elsewhere.duckdb"
    shutil.copyfile(loaded, copy)
    assert marts(copy, "livechat_reports") == marts(loaded, "livechat_reports")
    with duckdb.connect() as con:  # attached under another name, as BI tools and the CLI do
        con.execute(f"attach '{copy}' as other (read_only)")
        con.execute("use other")
        (count,) = con.execute("select count(*) from livechat_reports.kpi_daily").fetchone()
    assert count == (LAST - FIRST).days + 1


def _source_tests() -> int:
    """How many tests the sources file declares: one grain test per loaded table."""
    import yaml

    path = PROJECT_DIR / "models" / "staging" / "_livechat__sources.yml"
    (source,) = yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]
    return sum(len(table.get("data_tests", [])) for table in source["tables"])


def test_a_load_tests_the_loaded_tables_grain_and_transform_runs_every_test(
    make_emulator: Any, tmp_path: Path
) -> None:
    from transforms import TransformFailed, run_transforms

    loader = Loader(make_emulator(now=at(TODAY)), tmp_path / "livechat.duckdb")
    reports = ["chats_total_chats", "chats_ratings"]
    first = loader.run(
        TODAY,
        start_date=LAST - dt.timedelta(days=13),
        end_date=LAST,
        backfill=True,
        reports=reports,
        transform=True,
    )
    assert first.transform is not None and "kpi_daily" in first.transform.built
    # a load builds every model and runs the grain test of each loaded table, nothing more
    assert first.transform.tests == _source_tests()
    every = run_transforms(loader.pipeline)  # `livechat-reports transform`
    assert every.built == first.transform.built and every.tests > first.transform.tests + 40

    # a duplicated row of a day the next load does not reload fails the load that rebuilds
    # the views, naming the loaded table's grain test
    early = LAST - dt.timedelta(days=12)
    with loader.pipeline.sql_client() as client:
        table = client.make_qualified_table_name("chats_ratings")
        client.execute_sql(
            f"insert into {table} select * from {table} where report_date = %s", early
        )
        client.execute_sql(f"drop view {client.make_qualified_table_name('kpi_monthly')}")
    with pytest.raises(TransformFailed, match="test source_grain_livechat_chats_ratings"):
        loader.run(
            TODAY,
            start_date=LAST - dt.timedelta(days=2),
            end_date=LAST,
            backfill=True,
            reports=reports,
            transform=True,
        )
