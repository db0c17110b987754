"""The dbt package end to end: built through the command, tested by dbt, skipped when nothing
changed, run by hand as the README says (its commands verbatim) or with the user's own profile,
and installed by another dbt project."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pytest

from pipelines.cli import main
from tests.e2e.conftest import POSTGRES_SKIP, Loader, at
from tests.postgres import create_database
from transforms import PROJECT_DIR
from transforms.runner import PROFILES_DIR

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
        "build",
        "--profiles-dir",
        "profiles",
        "--project-dir",
        ".",
        *target,
        cwd=PROJECT_DIR,
        env=env,
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


# --- dbt run by hand: the README's commands verbatim, and the user's own profiles ---

README = PROJECT_DIR.parent / "README.md"
# Variables a user's shell may hold that would change what the README's commands do.
USER_VARIABLES = ("DBT_PROFILES_DIR", "LIVECHAT_DUCKDB_PATH", "LIVECHAT_DBT_TARGET")


def readme_commands() -> list[str]:
    """The commands of the README's "Run it yourself" block, continued lines joined."""
    text = README.read_text(encoding="utf-8")
    opening = text.index("```sh\n", text.index("**Run it yourself**")) + len("```sh\n")
    block = text[opening : text.index("```", opening)]
    commands, pending = [], ""
    for line in block.splitlines():
        if line.startswith("#") and not pending:
            continue
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        commands.append(" ".join((pending + line).split()))
        pending = ""
    return commands


def readme_command(*having: str, lacking: tuple[str, ...] = ()) -> str:
    """The one README command that has every text of `having` and none of `lacking`."""
    (command,) = [
        c
        for c in readme_commands()
        if all(h in c for h in having) and not any(n in c for n in lacking)
    ]
    return command


def sandbox(tmp_path: Path, database: Path | None = None) -> Path:
    """A folder laid out as the repository, for the README's commands: transforms/, .venv, and
    the DuckDB file as ./livechat.duckdb (dbt's output then stays out of the repository)."""
    root = tmp_path / "repository"
    shutil.copytree(
        PROJECT_DIR,
        root / "transforms",
        ignore=shutil.ignore_patterns("__pycache__", "target", "logs", "dbt_packages"),
    )
    (root / ".venv").symlink_to(BIN.parent)
    if database is not None:
        shutil.copyfile(database, root / "livechat.duckdb")
    return root


def shell(command: str, cwd: Path, **popen: Any) -> Any:
    """Run a README command with bash, as a user's shell would, without USER_VARIABLES."""
    environment = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    for name in USER_VARIABLES:
        environment.pop(name, None)
    if popen:
        return subprocess.Popen(["bash", "-c", command], cwd=cwd, env=environment, **popen)
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=environment, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip


def drop_views(db: Path, schema: str = "livechat_reports") -> None:
    """Drop every view of the schema, leaving the loaded tables."""
    with duckdb.connect(str(db)) as con:
        names = con.execute(
            "select view_name from duckdb_views() where schema_name = ? and not internal",
            [schema],
        ).fetchall()
        for (name,) in names:
            con.execute(f'drop view {schema}."{name}"')
    assert not views(db)


def test_the_readmes_duckdb_command_builds_the_views(loaded: Path, tmp_path: Path) -> None:
    root = sandbox(tmp_path, loaded)
    drop_views(root / "livechat.duckdb")
    command = readme_command(
        "LIVECHAT_DUCKDB_PATH=$PWD/livechat.duckdb", "dbt build", lacking=("--vars",)
    )
    done = shell(command, root)
    assert done.returncode == 0, done.stdout[-3000:]
    assert marts(root / "livechat.duckdb", "livechat_reports") == marts(loaded, "livechat_reports")


def test_the_readmes_command_for_another_dataset_builds_its_views(
    loaded: Path, tmp_path: Path
) -> None:
    command = readme_command("dbt build", "--vars")
    (dataset,) = re.findall(r"livechat_schema: (\w+)", command)
    assert dataset != "livechat_reports"
    root = sandbox(tmp_path, loaded)
    with duckdb.connect(str(root / "livechat.duckdb")) as con:  # the loaded tables, elsewhere
        con.execute(f"create schema {dataset}")
        tables = con.execute(
            "select table_name from information_schema.tables"
            " where table_schema = 'livechat_reports' and table_type = 'BASE TABLE'"
        ).fetchall()
        for (table,) in tables:
            con.execute(f"create table {dataset}.{table} as select * from livechat_reports.{table}")
    done = shell(command, root)
    assert done.returncode == 0, done.stdout[-3000:]
    assert marts(root / "livechat.duckdb", dataset) == marts(loaded, "livechat_reports")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, server: subprocess.Popen[bytes], deadline: float) -> bytes:
    """GET `url` once the server answers; fail when it exits or the deadline passes."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return bytes(response.read())
        except OSError:
            if server.poll() is not None:
                raise AssertionError(f"`dbt docs serve` exited ({server.returncode})") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_the_readmes_docs_commands_generate_and_serve_the_site(
    loaded: Path, tmp_path: Path
) -> None:
    root = sandbox(tmp_path, loaded)
    done = shell(readme_command("dbt docs generate"), root)
    assert done.returncode == 0, done.stdout[-3000:]
    target = root / "transforms" / "target"
    catalog = json.loads((target / "catalog.json").read_text(encoding="utf-8"))
    assert "model.livechat.kpi_weekly" in catalog["nodes"]
    # `docs serve` as the README writes it, on a free port and without opening a browser
    port = _free_port()
    serve = readme_command("dbt docs serve") + f" --port {port} --no-browser"
    server = shell(
        serve, root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        page = _get(f"http://127.0.0.1:{port}/index.html", server, deadline)
        served = json.loads(_get(f"http://127.0.0.1:{port}/manifest.json", server, deadline))
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the shell and the dbt it started
        server.wait(timeout=30)
    assert b"dbt" in page.lower()
    assert "exposure.livechat.livechat_dashboard" in served["exposures"]


def test_the_readmes_postgres_command_builds_the_views_on_its_port(
    make_emulator: Any, postgres_url: str | None, tmp_path: Path
) -> None:
    if postgres_url is None:
        pytest.skip(f"PostgreSQL unavailable: {POSTGRES_SKIP[0] if POSTGRES_SKIP else 'unknown'}")
    from transforms import run_transforms

    command = readme_command("--target postgres")
    # the command sets every connection variable the profile reads, the port included
    profile = (PROFILES_DIR / "profiles.yml").read_text(encoding="utf-8")
    read = set(re.findall(r"env_var\('LIVECHAT_PG_(\w+)'", profile))
    assert set(re.findall(r"LIVECHAT_PG_(\w+)=", command)) == read
    assert "PORT" in read

    database = create_database(postgres_url, "livechat_by_hand")
    loader = Loader(make_emulator(now=at(TODAY)), tmp_path / "unused.duckdb", postgres=database)
    loader.run(TODAY, start_date=LAST - dt.timedelta(days=13), end_date=LAST, backfill=True)
    listed = "select table_name from information_schema.views where table_schema = %s"
    assert not loader.query(listed, "livechat_reports")  # no views until dbt builds them

    url = urlsplit(database)
    values = {
        "HOST": url.hostname, "PORT": str(url.port), "USER": url.username,
        "PASSWORD": url.password, "DATABASE": url.path.lstrip("/"),
    }  # fmt: skip
    assert all(values.values()), values
    command = re.sub(
        r"LIVECHAT_PG_(\w+)=\S+",
        lambda m: f"LIVECHAT_PG_{m[1]}={shlex.quote(str(values[m[1]]))}",
        command,
    )
    done = shell(command, sandbox(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:]
    query = "select * from lr.{} order by 1, 2, 3"
    by_hand = {m: loader.query(query.format(m)) for m in ("kpi_daily", "agent_scorecard_monthly")}
    assert by_hand["kpi_daily"] and by_hand["agent_scorecard_monthly"]
    run_transforms(loader.pipeline)  # the command's own build of the same views
    assert {m: loader.query(query.format(m)) for m in by_hand} == by_hand


def test_dbt_run_from_transforms_reads_the_users_own_livechat_profile(
    loaded: Path, tmp_path: Path
) -> None:
    theirs = tmp_path / "theirs.duckdb"
    shutil.copyfile(loaded, theirs)
    drop_views(theirs)
    home = tmp_path / "home"
    (home / ".dbt").mkdir(parents=True)
    (home / ".dbt" / "profiles.yml").write_text(
        "livechat:\n"
        "  target: dev\n"
        "  outputs:\n"
        "    dev:\n"
        "      type: duckdb\n"
        f"      path: {json.dumps(str(theirs))}\n"
        "      schema: livechat_reports\n"
        "      threads: 1\n",
        encoding="utf-8",
    )
    output = ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
    # from transforms/, as a dbt user runs a project: no --profiles-dir, no --project-dir
    done = dbt("run", *output, cwd=PROJECT_DIR, env={"HOME": str(home)}, unset=USER_VARIABLES)
    assert done.returncode == 0, done.stdout[-3000:]
    assert marts(theirs, "livechat_reports") == marts(loaded, "livechat_reports")
    assert not (PROJECT_DIR / "livechat.duckdb").exists()
