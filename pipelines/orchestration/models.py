"""The transforms' models as Dagster assets (dagster-dbt), downstream of the report assets.

dagster-dbt reads the package from a manifest; `prepare_manifest` writes one with `dbt parse`
into a cache folder (`~/.cache/livechat-reports/`, outside the package) when it is missing or
older than the package.
The package's sources (the loaded tables) are mapped to the report assets that load them, so
the lineage runs from each report to the models that read it.
"""

# No `from __future__ import annotations`: Dagster reads the asset functions' annotations
# (config class, context, resources) as objects.

import fcntl
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, Failure
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from transforms import PROJECT_DIR
from transforms.runner import PROFILES_DIR

from .loads import GROUP, KEY_PREFIX, POOL, RETRY_POLICY
from .warehouse import LiveChatWarehouse


def _target_dir() -> Path:
    """Return where dbt writes for Dagster: a cache folder of this user, outside the package.

    The package folder stays clean (it may be installed read-only); one folder per package
    location, so two checkouts do not share a manifest.
    """
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(str(PROJECT_DIR.resolve()).encode()).hexdigest()[:12]
    return cache / "livechat-reports" / f"dagster-dbt-{digest}"


TARGET_DIR = _target_dir()
PROFILE = "livechat"


def dbt_project() -> DbtProject:
    """The package as dagster-dbt sees it, with the `livechat` profile of transforms/."""
    return DbtProject(
        project_dir=PROJECT_DIR,
        target_path=TARGET_DIR,
        profiles_dir=PROFILES_DIR,
        profile=PROFILE,
    )


def prepare_manifest(project: DbtProject) -> Path:
    """Write the manifest with `dbt parse` unless it is newer than every file of the package.

    Several processes may load the code location at once (`dagster dev` starts more than one,
    tests run in parallel): the check and the parse happen under a lock, and the manifest is
    parsed into a folder of its own and moved into place, so no process reads a half-written
    one (two parses writing one file at once left one unreadable).

    Returns:
        The manifest's path.
    """
    manifest = Path(project.manifest_path)
    TARGET_DIR.mkdir(parents=True, exist_ok=True)
    with open(TARGET_DIR.with_name(TARGET_DIR.name + ".lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest.exists() or manifest.stat().st_mtime < _newest_package_file():
            with tempfile.TemporaryDirectory(
                dir=TARGET_DIR.parent, prefix=TARGET_DIR.name + ".parse-"
            ) as parsed:
                dbt_resource(project).cli(["parse", "--quiet"], target_path=Path(parsed)).wait()
                os.replace(Path(parsed) / "manifest.json", manifest)
    return manifest


def _newest_package_file() -> float:
    files = [PROJECT_DIR / "dbt_project.yml", PROFILES_DIR / "profiles.yml"]
    for folder in ("models", "macros", "tests"):
        files.extend(p for p in (PROJECT_DIR / folder).rglob("*") if p.is_file())
    return max(p.stat().st_mtime for p in files)


class ModelsTranslator(DagsterDbtTranslator):
    """Models are `livechat_views/<model>` (keys users know); a loaded table, its report's asset."""

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
    project = project or dbt_project()
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
        with warehouse.dbt_environment():  # dbt's process starts with these variables
            invocation = dbt.cli(
                ["build", "--vars", variables],
                context=context,
                target_path=TARGET_DIR / f"build-{context.run.run_id}",  # not in the package
            )
        try:
            yield from invocation.stream()
        except DagsterDbtCliRuntimeError as error:
            failed = failed_tests(invocation)
            if failed is None:
                raise  # a model or the database failed: that may pass when retried
            raise Failure(
                description=f"dbt tests failed: {', '.join(failed)}. The views were built;"
                " the data they test is wrong or stale, which a retry would not change.",
                allow_retries=False,
            ) from error

    return livechat_models


def failed_tests(invocation: DbtCliInvocation) -> list[str] | None:
    """The names of the failed tests of a build in which only tests failed, else None."""
    try:
        results = invocation.get_artifact("run_results.json")["results"]
    except Exception:  # no results written: dbt failed before running anything
        return None
    failed = [r["unique_id"] for r in results if r.get("status") in ("fail", "error")]
    if not failed or not all(u.startswith(("test.", "unit_test.")) for u in failed):
        return None
    return [u.split(".")[2] if u.count(".") >= 2 else u for u in failed]


def dbt_resource(project: DbtProject | None = None) -> DbtCliResource:
    """The dbt CLI resource the model assets run with."""
    project = project or dbt_project()
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
