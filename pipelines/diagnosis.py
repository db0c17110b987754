"""What went wrong, diagnosed once: the kind of failure and one message a person can act on.

Each face decides what a kind means for it: the command turns it into an exit code
(`pipelines.cli.exit_code`), Dagster into whether the step is retried
(`pipelines.orchestration.loads.failure`). The words come from `pipelines.errors`.
"""

from __future__ import annotations

import enum
import typing
from dataclasses import dataclass

from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.pipeline.pipeline import Pipeline

from pipelines.dashboard.read import DashboardError, DatabaseBusy
from pipelines.destination import DestinationUnusable, load_footprint, package_tables
from pipelines.errors import (
    CONFIG_EXPLAINERS,
    NEXT_RUN,
    Problem,
    describe_footprint,
    environment_problem,
    exception_chain,
    interrupted,
    one_line,
)
from sources.livechat.exceptions import LiveChatAPIError, LiveChatError
from transforms.runner import TransformFailed
from transforms.transform import NoLoadedTablesError

# HTTP answers that a later attempt cannot change: the account's token or settings are wrong.
FINAL_STATUSES = frozenset({400, 401, 403, 404, 422})


class Kind(enum.Enum):
    """What a failure means for the next attempt."""

    BAD_INPUT = "bad input"
    """A setting, option or path is wrong, found before any request: fix it, then run again."""
    MAY_PASS_LATER = "may pass later"
    """A timeout, a 5xx or 429 answer, a locked file, a full disk: the same run may pass later."""
    FAILED = "failed"
    """The API answered no for good (HTTP 400, 401, 403, 404, 422): only a fix changes it."""
    INTERRUPTED = "interrupted"
    """Stopped on purpose (Ctrl-C): what was committed is said, the next run goes on."""


@dataclass(frozen=True)
class Diagnosis:
    """A failure's kind and its message (a few lines at most, no traceback)."""

    kind: Kind
    message: str


def diagnose(error: BaseException, command: str = "load") -> Diagnosis:
    """Say what kind of failure an exception from a command is, and what to do about it.

    Args:
        error: What the command raised (dlt's `PipelineStepFailed` is looked through).
        command: The command that ran (`load`, `transform`, `demo`, `dashboard`), for the
            wording.
    """
    chain = exception_chain(error)
    if any(isinstance(item, KeyboardInterrupt) for item in chain):
        return Diagnosis(Kind.INTERRUPTED, interrupted(chain, command))
    dashboard = next((i for i in chain if isinstance(i, DashboardError)), None)
    if dashboard is not None:
        return Diagnosis(_dashboard_kind(dashboard), str(dashboard))
    for explain_config in CONFIG_EXPLAINERS:
        for item in chain:
            message = explain_config(item)
            if message is not None:
                return Diagnosis(Kind.BAD_INPUT, message)
    later = _later_or_final(chain)
    for item in chain:
        if isinstance(item, NoLoadedTablesError):  # a wrong dataset or file, or none loaded yet
            return Diagnosis(Kind.BAD_INPUT, str(item))
        if isinstance(item, TransformFailed):
            loaded = "The data is loaded, but the views are not: " if command != "transform" else ""
            return Diagnosis(later, f"{loaded}{item}")
        if isinstance(item, LiveChatError):
            return Diagnosis(later, f"{command.capitalize()} failed: {item}")
    problem = environment_problem(chain)
    kind = Kind.BAD_INPUT if problem is not None and problem.bad_input else later
    step = next((i for i in chain if isinstance(i, PipelineStepFailed)), None)
    if any(isinstance(i, DestinationUnusable) for i in chain):
        return Diagnosis(kind, _before_any_request(chain, problem))
    if step is not None and step.step == "load" and step.load_id:
        return Diagnosis(kind, _load_step_failed(step, chain, problem))
    if step is not None:
        cause = problem.what if problem else one_line(chain[-1])
        todo = f" {problem.todo}" if problem else ""
        return Diagnosis(
            kind,
            f"The {step.step} step failed: {cause}. Nothing of this run reached the destination."
            f"{todo} Then run the load again (it finishes or redoes what this run left).",
        )
    if problem is not None:
        return Diagnosis(kind, f"{problem.what}. {problem.todo}")
    return Diagnosis(
        later, f"{command.capitalize()} failed: {type(error).__name__}: {one_line(error)}"
    )


def _dashboard_kind(error: DashboardError) -> Kind:
    """A database a load is writing lets go when the load ends; anything else needs a fix.

    The rest are an option or path to fix, a dataset with no marts (or none yet: the next
    load finishes an unfinished one), an account the dataset does not hold, a missing extra.
    """
    return Kind.MAY_PASS_LATER if isinstance(error, DatabaseBusy) else Kind.BAD_INPUT


def _later_or_final(chain: list[BaseException]) -> Kind:
    """A final HTTP answer anywhere in the chain fails for good; anything else may pass later."""
    final = any(isinstance(i, LiveChatAPIError) and i.status in FINAL_STATUSES for i in chain)
    return Kind.FAILED if final else Kind.MAY_PASS_LATER


def _before_any_request(chain: list[BaseException], problem: Problem | None) -> str:
    nothing = "Nothing was requested from the API and nothing was changed."
    if problem is not None:
        return f"{problem.what}. {nothing} {problem.todo}"
    unusable = next(i for i in chain if isinstance(i, DestinationUnusable))
    return (
        f"Cannot open the destination `{unusable.destination}`: {one_line(chain[-1])}. {nothing}"
        " Check that it is reachable and its credentials are right, then run the load again."
    )


def _load_step_failed(
    step: PipelineStepFailed, chain: list[BaseException], problem: Problem | None
) -> str:
    cause = problem.what if problem else one_line(chain[-1])
    lines = [f"The load step failed: {cause}."]
    load_id, pipeline = step.load_id, typing.cast(Pipeline, step.pipeline)
    try:
        lines.append(describe_footprint(load_footprint(pipeline, load_id)))
    except Exception as e:
        tables = len(package_tables(pipeline, load_id))
        lines.append(
            f"The destination could not be inspected ({one_line(e, 160)}), so it is unknown"
            f" which of the {tables} tables of load {load_id} got rows before the failure."
        )
    todo = f"{problem.todo} Then " if problem else "Once the cause is fixed, "
    lines.append(todo + NEXT_RUN)
    return "\n".join(lines)
