"""The words for what went wrong: what happened, with the values, and what to do about it.

`pipelines.diagnosis` decides the kind of a failure and picks the message from these; the
command and Dagster only read its answer. Nothing here knows exit codes or retries.
"""

from __future__ import annotations

import collections.abc
import datetime as dt
import os
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlt.common.configuration.exceptions import (
    ConfigFieldMissingException,
    ConfigValueCannotBeCoercedException,
)
from dlt.common.destination.client import DestinationClientConfiguration
from dlt.common.destination.exceptions import UnknownDestinationModule
from dlt.common.exceptions import MissingDependencyException
from dlt.pipeline.exceptions import InvalidPipelineName, PipelineStepFailed
from dlt.pipeline.pipeline import Pipeline

from pipelines.destination import LoadFootprint, load_footprint
from sources.livechat.exceptions import ConfigurationError

NEXT_RUN = (
    "run the load again: it finishes this package first (its days are replaced, nothing is"
    " doubled), then loads new data."
)
LOCK_ADVICE = (
    "A load needs the file to itself: BI tools and notebooks must open it read-only"
    " and only between loads (see Scheduling in the README)."
)
SECRET_WORDS = ("token", "password", "secret", "credential", "key")


@dataclass(frozen=True)
class Problem:
    """A recognised cause: what happened (with the value) and what to do about it.

    Attributes:
        bad_input: Whether the input is wrong (a path that names no usable database file), not
            the state of the machine (a locked file, a full disk), which may change on its own.
        what: One sentence, without the final period.
        todo: What to do, one or two sentences.
    """

    bad_input: bool
    what: str
    todo: str


def exception_chain(error: BaseException) -> list[BaseException]:
    """Return the error and its causes, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def one_line(error: BaseException, limit: int = 300) -> str:
    """Return the first line of an exception's message, shortened, without a final period."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = redact(lines[0] if lines else type(error).__name__).rstrip(".!")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def redact(text: str) -> str:
    """Hide the password of any URL in the text (`scheme://user:password@host`)."""
    return re.sub(r"(\w+://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)


# --- Ctrl-C ---------------------------------------------------------------------------------------


def interrupted(chain: list[BaseException], command: str = "load") -> str:
    """Say what an interrupted command left and what its next run does (only what is known).

    dlt turns a Ctrl-C during a step into a failed step; the step says what is committed: an
    extract leaves nothing (the state moves only with a load), a normalize leaves a package
    the next run finishes, a load step may have merged some tables (read back from the
    destination), which the next run finishes.
    """
    if command != "load":
        return f"Interrupted. Run `livechat-reports {command}` again."
    step = next((i for i in chain if isinstance(i, PipelineStepFailed)), None)
    if step is None:
        return (
            "Interrupted. The next `livechat-reports load` goes on from the last load that"
            " completed: it finishes or loads again what this run left."
        )
    if step.step == "extract":
        return (
            "Interrupted during the extract step: nothing of this run reached the destination"
            " and the state is unchanged. The next `livechat-reports load` requests these days"
            " again."
        )
    if step.step != "load" or not step.load_id:
        return (
            f"Interrupted during the {step.step} step: nothing of this run reached the"
            " destination. The next `livechat-reports load` finishes the package this run"
            " extracted first (its days are replaced, nothing is doubled), then loads new data."
        )
    pipeline = typing.cast(Pipeline, step.pipeline)
    try:
        footprint = load_footprint(pipeline, step.load_id)
        committed = describe_footprint(footprint)
        wrote = bool(footprint.rows)
    except Exception as e:
        committed = (
            f"The destination could not be inspected ({one_line(e, 160)}), so it is unknown"
            f" which tables of load {step.load_id} got rows before the interrupt."
        )
        wrote = True
    until = " Until then the views leave out the days it wrote." if wrote else ""
    return "\n".join(
        [
            "Interrupted during the load step.",
            committed.replace("before the failure", "before the interrupt"),
            "The next `livechat-reports load` finishes this package first (its days are"
            f" replaced, nothing is doubled), then loads new data.{until}",
        ]
    )


# --- configuration: bad input, before any request -------------------------------------------------


def _configuration_error(item: BaseException) -> str | None:
    return f"Configuration error: {item}" if isinstance(item, ConfigurationError) else None


def _missing_config(item: BaseException) -> str | None:
    if not isinstance(item, ConfigFieldMissingException):
        return None
    fields = ", ".join(sorted(item.fields)) or "a value"
    if isinstance(item.config, DestinationClientConfiguration):
        name = item.config.destination_name or item.config.destination_type or "destination"
        env = " or ".join(f"DESTINATION__{name.upper()}__{f.upper()}" for f in sorted(item.fields))
        return (
            f"Missing configuration of the destination `{name}`: {fields}. Set it in"
            f" .dlt/secrets.toml under [destination.{name}], or as {env}."
        )
    return (
        f"Missing configuration: {fields}. Set the credentials in .dlt/secrets.toml under"
        " [sources.livechat.credentials] (account_id and personal_access_token, or access_token"
        " and account_id), or as SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID and"
        " SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN. See .dlt/example.secrets.toml."
    )


def _uncoercible_value(item: BaseException) -> str | None:
    if not isinstance(item, ConfigValueCannotBeCoercedException):
        return None
    name, value = item.field_name, item.field_value
    expected = expected_type(item.hint)
    if any(word in name.lower() for word in SECRET_WORDS):
        return (
            f"Configuration error: `{name}` must be {expected}; the value given is not"
            " (not shown: it is a secret)."
        )
    shown = str(value) if len(str(value)) <= 100 else str(value)[:97] + "..."
    where = origin(name, value)
    return f"Configuration error: `{name}` must be {expected}; got `{shown}` ({where})."


def expected_type(hint: Any) -> str:
    """Say in words what a configuration type hint accepts."""
    kind = typing.get_origin(hint) or hint
    if not isinstance(kind, type):
        return f"a `{hint}`"
    if kind is bool:
        return "true or false"
    if kind is int:
        return "a whole number"
    if kind is float:
        return "a number"
    if issubclass(kind, (dt.date, dt.datetime)):
        return "a date like 2024-01-31"
    if kind is str:
        return "text"
    if issubclass(kind, collections.abc.Mapping):
        return 'a JSON object (a table in TOML), like {"groups": {"values": [0, 2]}}'
    if issubclass(kind, collections.abc.Sequence):
        return 'a list, like ["a", "b"]'
    return f"a `{kind.__name__}`"


def origin(name: str, value: Any) -> str:
    """Name the environment variable that holds `value` for the setting `name`, if one does."""
    suffix = f"__{name.upper()}"
    names = sorted(
        key
        for key, text in os.environ.items()
        if (key.upper().endswith(suffix) or key.upper() == name.upper()) and text == str(value)
    )
    if names:
        return f"from the environment variable {names[0]}"
    return "from .dlt/config.toml or .dlt/secrets.toml"


def _unknown_destination(item: BaseException) -> str | None:
    if not isinstance(item, UnknownDestinationModule):
        return None
    import dlt.destinations

    known = sorted(set(dlt.destinations.__all__) - {"destination", "dummy"})
    return (
        f"Unknown destination `{item.ref}`. Use one of dlt's destinations ({', '.join(known)}),"
        f" or a destination configured under [destination.{item.ref}] with a `destination_type`."
    )


def _invalid_pipeline_name(item: BaseException) -> str | None:
    if not isinstance(item, InvalidPipelineName):
        return None
    name = getattr(item, "pipeline_name", "")
    found = re.search(r"invalids=\(([^)]*)\)", str(item))
    why = f": {found.group(1).replace(chr(39), '`')} not allowed" if found else ""
    return (
        f"Invalid pipeline name `{name}`: it names the pipeline's working directory, so it must"
        f" be a valid directory name{why}. Use letters, digits, `_` and `-`, like"
        " `livechat_reports`."
    )


def _missing_dependency(item: BaseException) -> str | None:
    if not isinstance(item, MissingDependencyException):
        return None
    packages = " ".join(f'"{d}"' for d in item.dependencies)
    return (
        f"`{item.caller}` needs Python packages that are not installed: install them with"
        f" `pip install {packages}`, then run again."
    )


CONFIG_EXPLAINERS: tuple[Callable[[BaseException], str | None], ...] = (
    _configuration_error,
    _missing_config,
    _uncoercible_value,
    _unknown_destination,
    _invalid_pipeline_name,
    _missing_dependency,
)


# --- the environment: files, locks, disks ---------------------------------------------------------


def _locked(m: re.Match[str]) -> Problem:
    return Problem(
        False,
        f"The DuckDB file `{m['path']}` is in use by another program: {m['program']}"
        f" (PID {m['pid']})",
        f"Close that program, or wait until it closes the file. {LOCK_ADVICE}",
    )


def _not_duckdb(m: re.Match[str]) -> Problem:
    return Problem(
        True,
        f"`{m['path']}` is not a DuckDB database (it is damaged, or another kind of file)",
        "If the path is wrong, point --duckdb-file at the right file. If the file is damaged,"
        " restore it from a backup, or move it aside and reload the history into a new file"
        " with a backfill (`livechat-reports load --start-date <first day>`).",
    )


def _is_directory(m: re.Match[str]) -> Problem:
    return Problem(
        True,
        f"`{m['path']}` is a directory, not a DuckDB file",
        f"Give --duckdb-file a file name, e.g. `{Path(m['path']) / 'livechat.duckdb'}`.",
    )


def _no_directory(m: re.Match[str]) -> Problem | None:
    parent = Path(m["path"]).parent
    if parent.is_dir():
        return None
    return Problem(
        True,
        f"The DuckDB file `{m['path']}` cannot be created: the directory `{parent}` does not exist",
        "Create the directory, or point --duckdb-file at a file in an existing one.",
    )


def _read_only(m: re.Match[str]) -> Problem:
    return Problem(
        False,
        f"`{m['path']}` cannot be written: its file system is read-only",
        "Make the file system writable again (remount it read-write), or point --duckdb-file"
        " at a file on a writable one.",
    )


def _denied(m: re.Match[str]) -> Problem:
    return Problem(
        False,
        f"`{m['path']}` cannot be written: permission denied",
        "Give the user that runs the load write access to the file and its directory, or point"
        " --duckdb-file at a file it may write.",
    )


def _no_space(m: re.Match[str]) -> Problem:
    return _disk_full(m["path"])


def _disk_full(path: str) -> Problem:
    return Problem(
        False,
        f"The disk is full: writing `{path}` failed (no space left on device)",
        f"Free space on the file system that holds `{Path(path).parent}`.",
    )


_DUCKDB_PROBLEMS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Problem | None]], ...] = (
    (
        re.compile(
            r'Could not set lock on file "(?P<path>[^"]+)": Conflicting lock is held in'
            r" (?P<program>.+?) \(PID (?P<pid>\d+)\)"
        ),
        _locked,
    ),
    (re.compile(r'The file "(?P<path>[^"]+)" exists, but it is not a valid DuckDB'), _not_duckdb),
    (re.compile(r'"(?P<path>[^"]+)": Is a directory'), _is_directory),
    (re.compile(r'Cannot open file "(?P<path>[^"]+)": No such file or directory'), _no_directory),
    (re.compile(r'"(?P<path>[^"]+)": Read-only file system'), _read_only),
    (re.compile(r'"(?P<path>[^"]+)": Permission denied'), _denied),
    (re.compile(r'"(?P<path>[^"]+)": No space left on device'), _no_space),
)


def environment_problem(chain: list[BaseException]) -> Problem | None:
    """Recognise a cause in the files or disks under the run, innermost exception first."""
    for item in reversed(chain):
        if isinstance(item, OSError) and item.errno is not None:
            found = _os_error_problem(item)
            if found is not None:
                return found
        text = str(item)
        for pattern, make in _DUCKDB_PROBLEMS:
            match = pattern.search(text)
            problem = make(match) if match else None
            if problem is not None:
                return problem
    return None


def _os_error_problem(error: OSError) -> Problem | None:
    import errno

    path = str(error.filename) if error.filename else None
    if error.errno == errno.ENOSPC:
        if path is None:
            return Problem(
                False,
                "A disk is full (no space left on device)",
                "Free space where the DuckDB file and the pipeline's working directory"
                " (DLT_DATA_DIR) are.",
            )
        return _disk_full(path)
    if error.errno in (errno.EROFS, errno.EACCES) and path is not None:
        reason = (
            "its file system is read-only" if error.errno == errno.EROFS else "permission denied"
        )
        return Problem(
            False,
            f"`{path}` cannot be written: {reason}",
            "Make it writable for the user that runs the load.",
        )
    return None


def describe_footprint(footprint: LoadFootprint) -> str:
    """Say which tables hold rows of a failed load and whether its state was committed."""
    committed = ", ".join(f"{table} ({count} rows)" for table, count in footprint.rows.items())
    missing = len(footprint.without_rows)
    not_committed = []
    if missing:
        tables = f"{missing} table{'s' if missing != 1 else ''}"
        not_committed.append(f"the other {tables}" if committed else f"its {tables}")
    if not footprint.recorded:
        not_committed.append("the state (no `_dlt_loads` row for this load)")
    text = f"Committed before the failure: {committed or 'no rows'} of load {footprint.load_id}"
    if not_committed:
        text += f"; not committed: {' and '.join(not_committed)}"
    if footprint.recorded:
        text += "; the load is recorded as complete in `_dlt_loads`"
    return text + "."
