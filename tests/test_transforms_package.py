"""The dbt package, read as files: its sources match the source's registry, every model is
declared and tested, and what decides a rebuild changes exactly when it should."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from transforms import PROJECT_DIR, TransformResult, expected_tables, model_names
from transforms.fingerprint import fingerprint, package_files
from transforms.generate import main, stale
from transforms.runner import TransformFailed, _first_line
from transforms.tables import LOADS_TABLE, known_tables, report_tables

MODELS = PROJECT_DIR / "models"


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _sources() -> dict[str, dict]:
    (source,) = _yaml(MODELS / "staging" / "_livechat__sources.yml")["sources"]
    return {table["name"]: table for table in source["tables"]}


def test_the_sources_declare_every_loaded_table_with_the_registrys_columns() -> None:
    declared = {
        name: {c["name"]: c["data_type"] for c in table["columns"]}
        for name, table in _sources().items()
    }
    assert declared == known_tables()


def test_every_loaded_table_has_its_grain_tested() -> None:
    for name, table in _sources().items():
        if name in (LOADS_TABLE, "report_requests"):
            continue  # dlt's own table; the lineage table has one row per request, no key
        (test,) = table["data_tests"]
        columns = test["grain"]["arguments"]["columns"]
        assert columns[0] == "account_id", name
        # the declared columns (the test above keeps them equal to the registry's)
        assert set(columns) <= {c["name"] for c in table["columns"]}, name
        if name.endswith("_by_group"):
            assert columns[:2] == ["account_id", "group_id"], name


def test_the_files_restating_the_registry_are_generated_from_it() -> None:
    assert stale() == [], "run `python -m transforms.generate` and commit the result"
    assert main(["--check"]) == 0


def test_the_unfinished_loads_model_looks_through_every_loaded_table() -> None:
    macro = (PROJECT_DIR / "macros" / "livechat_tables.sql").read_text(encoding="utf-8")
    listed = dict(re.findall(r"'([a-z_]+)': (true|false)", macro))
    assert listed == {
        name: "true" if "report_date" in columns else "false"
        for name, columns in report_tables().items()
    }


def test_every_staging_model_serves_only_finished_loads() -> None:
    for path in sorted((MODELS / "staging").glob("stg_livechat__*.sql")):
        sql = path.read_text(encoding="utf-8")
        if path.stem == "stg_livechat__unfinished_loads":
            continue
        if path.stem == "stg_livechat__loaded_days":  # reads the finished loads' requests
            assert "ref('stg_livechat__report_requests')" in sql and "source(" not in sql
            continue
        assert "livechat_source(" in sql and "source(" not in sql.replace("livechat_source(", "")
        assert "livechat.finished_day(" in sql or "_dlt_loads" in sql, path.name


def test_every_model_states_its_grain_and_every_mart_has_its_grain_tested() -> None:
    for path in sorted(MODELS.rglob("*.sql")):
        assert "grain" in path.read_text(encoding="utf-8").splitlines()[0], path.name
    tested = {
        model["name"]
        for yml in (MODELS / "marts" / "_marts.yml", MODELS / "intermediate" / "_intermediate.yml")
        for model in _yaml(yml)["models"]
        if any("grain" in test for test in model.get("data_tests", []))
    }
    marts = {p.stem for p in (MODELS / "marts").glob("*.sql")}
    intermediate = {p.stem for p in (MODELS / "intermediate").glob("*.sql")}
    assert tested == marts | intermediate


def test_the_unit_tests_pin_the_rollup_rules() -> None:
    tests = _yaml(MODELS / "marts" / "_marts__unit_tests.yml")["unit_tests"]
    assert {t["model"] for t in tests} == {
        "kpi_daily",
        "kpi_weekly",
        "kpi_monthly",
        "kpi_weekly_by_group",
        "kpi_monthly_by_group",
        "agent_scorecard_monthly",
    }
    assert all(len(t["name"]) <= 63 for t in tests)  # PostgreSQL's limit on relation names


def test_the_package_ships_with_the_python_package() -> None:
    pyproject = (PROJECT_DIR.parent / "pyproject.toml").read_text(encoding="utf-8")
    shipped = re.search(r"^transforms = \[(.*)\]$", pyproject, re.MULTILINE)
    assert shipped is not None
    globs = re.findall(r'"([^"]+)"', shipped.group(1))
    for path in package_files(PROJECT_DIR):
        relative = path.relative_to(PROJECT_DIR)
        assert any(relative.match(g) or str(relative).startswith(g.split("*")[0]) for g in globs)


def test_model_names_are_the_views_users_query() -> None:
    assert {
        "kpi_daily",
        "kpi_weekly",
        "kpi_monthly",
        "agent_scorecard_daily",
        "agent_scorecard_monthly",
        "tag_usage_weekly",
        "tag_usage_monthly",
        "greeting_funnel_monthly",
        "group_chats_monthly",
        "kpi_daily_by_group",
        "kpi_weekly_by_group",
        "kpi_monthly_by_group",
        "account_freshness",
    } <= model_names()


COLUMNS = [("chats_total_chats", "total", "BIGINT"), ("chats_ratings", "good", "BIGINT")]


@pytest.fixture
def package(tmp_path: Path) -> Path:
    root = tmp_path / "package"
    for path in package_files(PROJECT_DIR):
        target = root / path.relative_to(PROJECT_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    return root


def test_the_fingerprint_changes_with_a_model_a_column_or_a_version(package: Path) -> None:
    first = fingerprint(package, COLUMNS, ["dbt-core==1"])
    assert fingerprint(package, list(reversed(COLUMNS)), ["dbt-core==1"]) == first
    (package / "target").mkdir()
    (package / "target" / "manifest.json").write_text("{}")  # dbt's own output
    assert fingerprint(package, COLUMNS, ["dbt-core==1"]) == first

    assert fingerprint(package, [*COLUMNS, ("chats_tags", "tag", "VARCHAR")], ["dbt-core==1"]) != (
        first
    )
    assert fingerprint(package, COLUMNS, ["dbt-core==2"]) != first
    model = package / "models" / "marts" / "kpi_daily.sql"
    model.write_text(model.read_text() + "\n-- changed\n")
    assert fingerprint(package, COLUMNS, ["dbt-core==1"]) != first


def test_a_failed_node_is_named_with_its_reason() -> None:
    error = TransformFailed([("test grain_x", "fail", "Got 2 results")], "")
    assert str(error).startswith("dbt build failed: test grain_x [fail]: Got 2 results.")
    heading = (
        "Runtime Error in unit_test u (x.yml)\n  An error occurred\n  Relation name is too long"
    )
    assert _first_line(heading) == "Relation name is too long"
    assert _first_line("Got 1 result, configured to fail if != 0") == (
        "Got 1 result, configured to fail if != 0"
    )
    compile_error = TransformFailed([], "Encountered an error:\nCompilation Error in model m\n x")
    assert "Compilation Error in model m" in str(compile_error)


def test_the_note_names_the_tables_without_data_in_one_line() -> None:
    assert TransformResult().note is None
    note = TransformResult(no_data=("chats_tags", "chats_ratings")).note
    assert note == "No data yet for: chats_tags, chats_ratings (the views read them as empty)."


def test_the_note_names_per_group_tables_only_once_the_breakdown_was_loaded() -> None:
    tables = ["chats_ratings", "chats_ratings_by_group", "chats_total_chats_by_group"]
    assert expected_tables(tables, {"chats_total_chats"}) == ["chats_ratings"]
    assert expected_tables(tables, {"chats_total_chats_by_group"}) == tables
