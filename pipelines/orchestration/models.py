"""The transforms' models as Dagster assets (dagster-dbt), downstream of the report assets.

dagster-dbt reads the package from a manifest, prepared the dagster-dbt way (`project.py`).
The package's sources (the loaded tables) are mapped to the report assets that load them, so
the lineage runs from each report to the models that read it.
"""

# No `from __future__ import annotations`: Dagster reads the asset functions' annotations
# (config class, context, resources) as objects.

import json
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, Failure, Output
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

from transforms.runner import PROFILES_DIR

from .loads import GROUP, KEY_PREFIX, POOL, RETRY_POLICY
from .project import PROFILE, PROJECT, TARGET_DIR, prepare_manifest
from .tables import table_metadata
from .warehouse import LiveChatWarehouse


class ModelsTranslator(DagsterDbtTranslator):
    """Models are `livechat_views/<model>` (keys users know); a loaded table, its report's asset.

    The package's tests are asset checks: a model's on the model's asset, and a source
    table's (its `grain`) on the report asset that loads the table, so a duplicate key is a
    failed check on `livechat/<table>`.
    """

    def __init__(self) -> None:
        super().__init__(
            DagsterDbtTranslatorSettings(
                enable_asset_checks=True, enable_source_tests_as_checks=True
            )
        )

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        """Return the asset of a model, or of the report behind a source table."""
        name = str(dbt_resource_props["name"])
        if dbt_resource_props["resource_type"] == "source":
            # A report's own table is its asset; the further tables have their own (loads.py).
            return AssetKey([KEY_PREFIX, name])
        return AssetKey([f"{KEY_PREFIX}_views", name])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """Put the models beside the reports (group `livechat_views`)."""
        return f"{GROUP}_views"


def model_assets(project: DbtProject | None = None) -> AssetsDefinition:
    """Build the model assets: `dbt build` of the transforms (models and tests) on the warehouse."""
    project = project or PROJECT
    manifest = prepare_manifest(project)

    @dbt_assets(
        manifest=manifest,
        project=project,
        dagster_dbt_translator=ModelsTranslator(),
        name="livechat_dbt",
        pool=POOL,
        retry_policy=RETRY_POLICY,
    )
    def livechat_models(
        context: AssetExecutionContext, dbt: DbtCliResource, warehouse: LiveChatWarehouse
    ) -> Iterator[Any]:
        variables = json.dumps({"livechat_schema": warehouse.stored_dataset()})
        build = TARGET_DIR / f"build-{context.run.run_id}"  # not in the package
        try:
            with warehouse.dbt_environment():  # dbt's process starts with these variables
                invocation = dbt.cli(
                    ["build", "--vars", variables],
                    context=context,
                    target_path=build,
                    raise_on_error=False,
                )
            # Held until dbt has finished: the row counts are read after it (a DuckDB file
            # has one process writing it at a time).
            events = list(invocation.stream())
            with warehouse.sql_client() as client:
                for event in events:
                    yield with_table_metadata(context, event, client, warehouse.stored_dataset())
            if not invocation.is_successful():
                raise build_failure(invocation)
        finally:
            # The run's compiled SQL, results and log: in Dagster's event log by now.
            shutil.rmtree(build, ignore_errors=True)

    return livechat_models


def with_table_metadata(
    context: AssetExecutionContext, event: Any, client: Any, dataset: str
) -> Any:
    """A model's output with the view's real name (`<dataset>.<model>`) and its rows now.

    dagster-dbt names the relation the manifest was parsed for; the run's dataset is the
    warehouse's. Any other event is returned as it is.
    """
    if not isinstance(event, Output):
        return event
    name = context.assets_def.keys_by_output_name[event.output_name].path[-1]
    try:
        counted = table_metadata(client, dataset, name)
    except Exception as error:  # the view was built; a count that fails must not hide that
        context.log.warning(f"Could not count the rows of {dataset}.{name}: {error}")
        return event
    return event.with_metadata({**event.metadata, **counted})


def build_failure(invocation: DbtCliInvocation) -> Failure:
    """Why `dbt build` failed (each failed node and dbt's message), and whether to retry.

    Only tests failed: their checks say which, on which asset; the data they test is wrong
    or stale, which a retry would not change. A model or the database failed: that may pass.
    """
    failed = failed_results(invocation)
    named = "; ".join(
        f"{_short(r['unique_id'])}: {r.get('message') or r['status']}" for r in failed
    )
    if failed and all(r["unique_id"].startswith(("test.", "unit_test.")) for r in failed):
        return Failure(
            description=f"dbt tests failed: {named}. The views were built; the failed checks"
            " name the assets whose data is wrong or stale, which a retry would not change.",
            allow_retries=False,
        )
    return Failure(
        description=f"dbt build failed (exit code {invocation.process.returncode}):"
        f" {named or 'see its log above'}. It is retried; if it keeps failing, fix what dbt"
        " names and materialize the views again.",
        allow_retries=True,
    )


def failed_results(invocation: DbtCliInvocation) -> list[dict[str, Any]]:
    """The results of the nodes that failed or errored, from the build's run_results.json."""
    try:
        results = invocation.get_artifact("run_results.json")["results"]
    except Exception:  # no results written: dbt failed before running anything
        return []
    return [r for r in results if r.get("status") in ("fail", "error")]


def _short(unique_id: str) -> str:
    """A node's name from its unique id (`test.livechat.<name>.<hash>` gives `<name>`)."""
    return unique_id.split(".")[2] if unique_id.count(".") >= 2 else unique_id


def dbt_resource(project: DbtProject | None = None) -> DbtCliResource:
    """The dbt CLI resource the model assets run with."""
    project = project or PROJECT
    return DbtCliResource(
        project_dir=project,
        profiles_dir=str(PROFILES_DIR),
        profile=PROFILE,
        dbt_executable=dbt_executable(),
    )


def dbt_executable() -> str:
    """This environment's `dbt`, whether or not the environment is activated."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"
