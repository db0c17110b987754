"""The dbt package's documentation: every mart and intermediate model and every column its view
really has is described, `dbt docs generate` renders it offline, and the dashboard's exposure
names what the dashboard reads.

The first tests read the yml and docs files only. The others build the views over a dataset
that holds nothing but an empty `_dlt_loads` (every loaded table then reads as an empty relation
with its declared columns, so the views have their real columns without any load) and run
`dbt docs generate` on it, as the README says a user does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from pipelines.dashboard.read import HOURLY_QUERY, QUERIES, UNFINISHED_QUERY, _placeholders
from sources.livechat.reports import every_report
from transforms import PROJECT_DIR
from transforms.generate import API_DOCS, METHOD_ANCHORS
from transforms.runner import PROFILES_DIR
from transforms.tables import LOADS_COLUMNS, LOADS_TABLE, report_tables

MODELS = PROJECT_DIR / "models"
# The layers whose every model and column must be described.
DOCUMENTED = ("marts", "intermediate")
DOC_CALL = re.compile(r"""\{\{\s*doc\(\s*['"](\w+)['"]\s*\)\s*\}\}""")
DOCS_BLOCK = re.compile(r"\{%\s*docs\s+(\w+)\s*%\}(.*?)\{%\s*enddocs\s*%\}", re.DOTALL)
DUCKDB_TYPES = {"text": "varchar", "bigint": "bigint", "timestamp": "timestamptz"}


def docs_blocks() -> dict[str, str]:
    """Every docs block of the package, by name (dbt reads them from the model paths)."""
    blocks: dict[str, str] = {}
    for path in sorted(MODELS.rglob("*.md")):
        for name, text in DOCS_BLOCK.findall(path.read_text(encoding="utf-8")):
            assert name not in blocks, f"docs block `{name}` defined twice ({path.name})"
            blocks[name] = text.strip()
    return blocks


def rendered(description: str | None, blocks: dict[str, str]) -> str:
    """A description with its `{{ doc('...') }}` calls replaced by the blocks' text."""

    def block(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in blocks, f"`{{{{ doc('{name}') }}}}` names no docs block"
        return blocks[name]

    return DOC_CALL.sub(block, description or "").strip()


def declared_models() -> dict[str, dict[str, Any]]:
    """Every model the yml files of the package declare, by name, with the layer it is in."""
    models: dict[str, dict[str, Any]] = {}
    for path in sorted(MODELS.rglob("*.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models") or []:
            models[model["name"]] = {**model, "layer": path.parent.relative_to(MODELS).parts[0]}
    return models


def documented_models() -> dict[str, str]:
    """The model files of the documented layers: name -> layer."""
    return {
        path.stem: layer for layer in DOCUMENTED for path in sorted((MODELS / layer).glob("*.sql"))
    }


def undocumented(models: dict[str, dict[str, Any]], blocks: dict[str, str]) -> list[str]:
    """What lacks a description among the documented layers' models and declared columns."""
    missing = []
    for name in documented_models():
        model = models.get(name)
        if model is None:
            missing.append(f"model {name} (not declared in any yml)")
            continue
        if not rendered(model.get("description"), blocks):
            missing.append(f"model {name}")
        for column in model.get("columns") or []:
            if not rendered(column.get("description"), blocks):
                missing.append(f"column {name}.{column['name']}")
    return missing


def test_every_mart_and_intermediate_model_and_declared_column_has_a_description() -> None:
    blocks = docs_blocks()
    models = declared_models()
    assert set(documented_models()) >= {"kpi_weekly", "int_kpi_daily", "account_freshness"}
    assert undocumented(models, blocks) == []


def test_a_column_without_a_description_is_found() -> None:
    """The check itself: a column whose description is missing or empty is reported."""
    blocks = docs_blocks()
    models = declared_models()
    columns = models["kpi_weekly"]["columns"]
    columns.append({"name": "new_metric"})
    columns.append({"name": "other_metric", "description": "  "})
    models["int_kpi_daily"]["description"] = ""
    assert sorted(undocumented(models, blocks)) == [
        "column kpi_weekly.new_metric",
        "column kpi_weekly.other_metric",
        "model int_kpi_daily",
    ]


def test_the_model_descriptions_state_the_grain() -> None:
    blocks, models = docs_blocks(), declared_models()
    for name in documented_models():
        text = " ".join(rendered(models[name]["description"], blocks).split())
        assert "one row per" in text.lower(), name


def test_every_loaded_table_links_its_api_method() -> None:
    (source,) = yaml.safe_load(
        (MODELS / "staging" / "_livechat__sources.yml").read_text(encoding="utf-8")
    )["sources"]
    described = {
        table["name"]: " ".join(table["description"].split()) for table in source["tables"]
    }
    reports = {table.name: spec.path for spec in every_report() for table in spec.tables}
    assert set(reports) <= set(described)
    for table, path in reports.items():
        assert f"The {path} report ({API_DOCS}#{METHOD_ANCHORS[path]})" in described[table], table
    # the method's own documentation, by the anchor of its heading on the stable v3.6 page
    assert METHOD_ANCHORS["chats/total_chats"] == "total-chats"
    assert METHOD_ANCHORS["chats/groups"] == "group-chats-count"


def test_the_dashboards_exposure_lists_every_view_and_table_the_dashboard_reads() -> None:
    exposures = MODELS / "_livechat__exposures.yml"
    (exposure,) = yaml.safe_load(exposures.read_text(encoding="utf-8"))["exposures"]
    assert exposure["type"] == "dashboard" and exposure["description"].strip()
    read = set().union(
        *(_placeholders(sql) for sql in (*QUERIES.values(), HOURLY_QUERY, UNFINISHED_QUERY))
    )
    models = {path.stem for path in MODELS.rglob("*.sql")}
    expected = {f"ref('{name}')" for name in read & models}
    expected |= {f"source('livechat', '{name}')" for name in read - models}
    assert set(read - models) <= set(report_tables()) | {LOADS_TABLE}
    assert set(exposure["depends_on"]) == expected


def _dbt(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **env}
    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """manifest.json and catalog.json of `dbt docs generate`, over views built on no data."""
    folder = tmp_path_factory.mktemp("docs")
    database = folder / "livechat.duckdb"
    columns = ", ".join(f"{name} {DUCKDB_TYPES[kind]}" for name, kind in LOADS_COLUMNS.items())
    with duckdb.connect(str(database)) as con:
        con.execute("create schema livechat_reports")
        con.execute(f"create table livechat_reports.{LOADS_TABLE} ({columns})")
    common = [
        "--profiles-dir", str(PROFILES_DIR), "--project-dir", str(PROJECT_DIR),
        "--target-path", str(folder / "target"), "--log-path", str(folder / "logs"),
    ]  # fmt: skip
    env = {"LIVECHAT_DUCKDB_PATH": str(database)}
    built = _dbt("run", *common, cwd=folder, env=env)
    assert built.returncode == 0, built.stdout[-3000:]
    generated = _dbt("docs", "generate", *common, cwd=folder, env=env)
    assert generated.returncode == 0, generated.stdout[-3000:]
    target = folder / "target"
    assert (target / "index.html").is_file()
    return {
        name: json.loads((target / f"{name}.json").read_text(encoding="utf-8"))
        for name in ("manifest", "catalog")
    }


def _nodes(docs: dict[str, Any], which: str) -> dict[str, dict[str, Any]]:
    """The package's models in manifest.json or catalog.json, by name."""
    return {
        node["metadata"]["name"] if which == "catalog" else node["name"]: node
        for unique_id, node in docs[which]["nodes"].items()
        if unique_id.startswith("model.livechat.")
    }


def columns_not_described(docs: dict[str, Any]) -> list[str]:
    """The columns the built views of the documented layers have that no yml describes."""
    manifest, catalog = _nodes(docs, "manifest"), _nodes(docs, "catalog")
    missing = []
    for name in documented_models():
        described = {
            column.lower()
            for column, entry in manifest[name]["columns"].items()
            if entry.get("description", "").strip()
        }
        for column in catalog[name]["columns"]:
            if column.lower() not in described:
                missing.append(f"{name}.{column}")
    return missing


def test_the_yml_describes_every_column_the_built_views_have(docs: dict[str, Any]) -> None:
    catalog = _nodes(docs, "catalog")
    assert set(documented_models()) <= set(catalog)  # every view was built and read
    assert columns_not_described(docs) == []
    # and lists no column the view does not have (a renamed or dropped one)
    manifest = _nodes(docs, "manifest")
    for name in documented_models():
        built = {column.lower() for column in catalog[name]["columns"]}
        assert {column.lower() for column in manifest[name]["columns"]} <= built, name


def test_a_column_the_yml_does_not_list_is_found(docs: dict[str, Any]) -> None:
    """The check itself: a column of a built view that the yml does not list is reported."""
    changed = json.loads(json.dumps(docs))
    unique_id = "model.livechat.kpi_monthly"
    new = {"name": "new_metric", "index": 99, "type": "DOUBLE", "comment": None}
    changed["catalog"]["nodes"][unique_id]["columns"]["new_metric"] = new
    del changed["manifest"]["nodes"][unique_id]["columns"]["page_views"]
    assert columns_not_described(changed) == ["kpi_monthly.page_views", "kpi_monthly.new_metric"]


def test_docs_generate_renders_the_descriptions(docs: dict[str, Any]) -> None:
    manifest = docs["manifest"]
    models = _nodes(docs, "manifest")
    blocks = docs_blocks()
    # docs blocks are rendered into the manifest, not left as calls
    weekly = models["kpi_weekly"]["columns"]
    first_response = weekly["avg_first_response_time_seconds"]["description"]
    assert first_response == blocks["kpi_avg_first_response_time_seconds"]
    assert "averaged over chats" in weekly["avg_first_response_time_seconds"]["description"]
    assert "True until every day" in weekly["is_partial_period"]["description"]
    texts = [
        column["description"] for model in models.values() for column in model["columns"].values()
    ]
    assert texts and not [text for text in texts if "doc(" in text]
    assert "one row per account_id and week_start" in " ".join(
        models["kpi_weekly"]["description"].split()
    )
    # the loaded tables link their API method
    sources = {
        node["name"]: node
        for unique_id, node in manifest["sources"].items()
        if unique_id.startswith("source.livechat.")
    }
    assert f"{API_DOCS}#total-chats" in sources["chats_total_chats"]["description"]
    # the dashboard is an exposure, downstream of what it reads
    exposure = manifest["exposures"]["exposure.livechat.livechat_dashboard"]
    assert "model.livechat.kpi_weekly" in exposure["depends_on"]["nodes"]
    assert "source.livechat.livechat.chats_total_chats" in exposure["depends_on"]["nodes"]
    # and the catalog read the views' real columns and types from the database
    catalog = _nodes(docs, "catalog")
    assert catalog["kpi_weekly"]["columns"]["is_partial_period"]["type"].upper() == "BOOLEAN"
