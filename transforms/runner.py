"""Run the dbt package on a pipeline's destination through dlt's dbt runner, in this environment.

dlt passes the pipeline's credentials to dbt as environment variables and its dataset as the
dbt variable `source_dataset_name`; the profiles the package ships (`profiles.yml`, one per
destination type) read them, and load no DuckDB extension, so dbt runs offline. dbt runs in a
child process of this virtual environment's Python, whether or not the environment is
activated. Its target and log folders go to the pipeline's working directory, so the package
folder stays clean and dbt's parse cache survives between runs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlt.common.runners import Venv
from dlt.helpers.dbt.exceptions import DBTProcessingError
from dlt.helpers.dbt.runner import create_runner
from dlt.pipeline.pipeline import Pipeline

from sources.livechat.exceptions import LiveChatError

PROJECT_DIR = Path(__file__).parent
# dbt's node statuses that fail a build ("skipped" nodes only follow a failure).
FAILED_STATUSES = ("fail", "error", "runtime error")


class TransformFailed(LiveChatError):
    """dbt could not build the views, or one of the package's tests failed.

    Attributes:
        failed: (node, status, first line of its message) for every failed node.
    """

    def __init__(self, failed: list[tuple[str, str, str]], output: str) -> None:
        self.failed = failed
        if failed:
            what = "; ".join(f"{node} [{status}]: {message}" for node, status, message in failed)
        else:
            what = _last_error(output) or "dbt reported no result (run with --debug for its log)"
        super().__init__(
            f"dbt build failed: {what}. The loaded tables are unchanged; views whose models"
            " passed were rebuilt."
        )


@dataclass(frozen=True)
class BuildResult:
    """What a dbt build did: the name of every node it ran (models, data and unit tests)."""

    nodes: tuple[str, ...]

    def models(self, names: set[str]) -> tuple[str, ...]:
        """The views built, in build order (`names`: the package's models)."""
        return tuple(node for node in self.nodes if node in names)

    def tests(self, names: set[str]) -> int:
        """How many data and unit tests passed (every node that is not a model)."""
        return sum(1 for node in self.nodes if node not in names)


def dbt_build(pipeline: Pipeline) -> BuildResult:
    """Run `dbt build` (models, data tests and unit tests in DAG order) on the destination.

    Raises:
        TransformFailed: Naming every failed model or test, or dbt's own error.
    """
    config = pipeline.destination_client().config
    runner = create_runner(
        _this_environment(),
        config,  # type: ignore[arg-type]
        pipeline.working_dir,
        str(PROJECT_DIR),
        package_profiles_dir=str(PROJECT_DIR),
        package_profile_name=config.destination_type,
    )
    work = Path(pipeline.working_dir) / "dbt"
    args = ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            # dlt 1.31's runner has no public `build`; its command runner is the one way to get
            # models, data tests and unit tests in one dbt invocation, in dependency order.
            results = runner._run_dbt_command("build", args, runner._get_package_vars())
    except DBTProcessingError as error:
        raise TransformFailed(_failed_nodes(error), output.getvalue()) from error
    return BuildResult(tuple(str(result.model_name) for result in results or []))


def _this_environment() -> Venv:
    """The virtual environment this process runs in, activated or not."""
    if sys.prefix != sys.base_prefix:
        return Venv.restore(sys.prefix)
    return Venv.restore_current()


def _failed_nodes(error: DBTProcessingError) -> list[tuple[str, str, str]]:
    results = getattr(getattr(error, "dbt_results", None), "results", None)
    failed = []
    if results:
        for result in results:
            if str(result.status) in FAILED_STATUSES:
                name = f"{result.node.resource_type} {result.node.name}"
                failed.append((name, str(result.status), _first_line(result.message)))
        return failed
    for result in getattr(error, "run_results", None) or []:
        if str(result.status) in FAILED_STATUSES:
            failed.append((str(result.model_name), str(result.status), _first_line(result.message)))
    return failed


def _first_line(message: Any) -> str:
    """The line of a node's message that says what went wrong.

    A failed test says it on its first line ("Got 2 results, configured to fail if != 0"); an
    error starts with a heading ("Runtime Error in ...") and ends with the database's reason.
    """
    lines = [line.strip() for line in str(message or "").splitlines() if line.strip()]
    if not lines:
        return ""
    if lines[0].split(" in ")[0].endswith("Error") and len(lines) > 1:
        return lines[-1]
    return lines[0]


def _last_error(output: str) -> str:
    """Return dbt's own error text in one line (a compile error leaves no node results)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if "Error" in line:
            return " ".join(lines[index : index + 3])[:500]
    return ""


def missing_dbt(destination_type: str) -> str | None:
    """Return why dbt cannot run on this destination here (a package missing), or None."""
    for module in ("dbt.cli.main", f"dbt.adapters.{destination_type}"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            return (
                f"dbt cannot run here: `{module}` is not installed. Install the views' extra,"
                ' pip install "livechat-reports[dbt]" (dbt-core with the duckdb and postgres'
                " adapters), or the dbt adapter of your destination."
            )
    return None
