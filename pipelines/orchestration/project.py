"""The dbt package as dagster-dbt sees it, and its manifest, prepared the dagster-dbt way.

Absolute imports only: `dagster-dbt project prepare-and-package --file
pipelines/orchestration/project.py` loads this file on its own to find `PROJECT`.
"""

import hashlib
import os
import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from transforms import PROJECT_DIR
from transforms.runner import PROFILES_DIR


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


# The package as dagster-dbt sees it, with the `livechat` profile of transforms/; found by
# `dagster-dbt project prepare-and-package --file pipelines/orchestration/project.py`.
PROJECT = DbtProject(
    project_dir=PROJECT_DIR,
    target_path=TARGET_DIR,
    profiles_dir=PROFILES_DIR,
    profile=PROFILE,
)


def prepare_manifest(project: DbtProject) -> Path:
    """Return the package's manifest, prepared the dagster-dbt way.

    Under `dg dev` (`dagster dev`), `prepare_if_dev` parses the package on every load of the
    location.
    Elsewhere the manifest is the one `dagster-dbt project prepare-and-package --file
    pipelines/orchestration/project.py` wrote when the project was deployed (`make venv` runs
    it); when it is missing, or older than a file of the package (a model edited since, an
    install that skipped the step), the project's preparer parses once more. The preparer works
    under dagster's concurrent-update guard: code locations loading at once (`dagster dev`
    starts several, tests run in parallel) parse once, and the others wait and read it.

    Returns:
        The manifest's path.
    """
    _put_dbt_on_path()
    project.prepare_if_dev()
    manifest = Path(project.manifest_path)
    if not manifest.exists() or manifest.stat().st_mtime < _newest_package_file():
        project.preparer.prepare(project)
    return manifest


def _put_dbt_on_path() -> None:
    """Let dagster-dbt's preparer find this environment's `dbt`, which it looks for on PATH.

    A virtual environment used without activating it (`.venv/bin/dagster dev`) has its `dbt`
    beside the interpreter, not on PATH; that folder goes last on PATH, so a `dbt` found on
    PATH still wins.
    """
    beside = Path(sys.executable).parent
    if shutil.which("dbt") is None and (beside / "dbt").exists():
        os.environ["PATH"] = os.pathsep.join([os.environ.get("PATH", ""), str(beside)])


def _newest_package_file() -> float:
    files = [PROJECT_DIR / "dbt_project.yml", PROFILES_DIR / "profiles.yml"]
    for folder in ("models", "macros", "tests"):
        files.extend(p for p in (PROJECT_DIR / folder).rglob("*") if p.is_file())
    return max(p.stat().st_mtime for p in files)
