"""Run the dbt package on a pipeline's destination with dbt's own command, in a child process.

dbt runs as `dbt build` of this environment (the `dbt` beside this Python, whether or not the
environment is activated), not inside the command's process: dbt keeps global state (flags,
adapters, its loggers, the current directory while it runs), and dbt-duckdb keeps the DuckDB
file open in its process until that process exits, which would lock the file against every
later reader. The child gets the pipeline's credentials as environment variables of its own
(the variables the profiles in `profiles/profiles.yml` read), never on its command line or in a
file; the dataset is the dbt variable `source_dataset_name`. The profile is the command's own
for the destination type, `livechat_reports_command_duckdb` or `..._postgres`, named so that no
one takes it for theirs; dbt reads it from `profiles/` (`--profiles-dir`) only, so a user's
~/.dbt/profiles.yml never mixes with it.
Its target and log folders are in the pipeline's working directory, so the package folder stays
clean and dbt's partial parsing carries over between runs (dbt parses only the files that
changed). A parse is also shared between pipelines, through the user's cache folder
(`$XDG_CACHE_HOME/livechat-reports/dbt-parse`, one file per package version, dbt version,
profile, connection and dataset; see `parse_key`): a fresh file's first build then skips dbt's
full parse (about 2.5 s of CPU); `make venv` saves one for the default file names beforehand
(`transforms/warm.py`). dbt accepts a saved parse only for the same connection, and for
DuckDB the connection includes the file's path, so dbt runs in the file's folder and the
profile gets the file's name: every `livechat.duckdb` has the same connection. dbt still checks
a copied parse itself (versions, variables, profile, every file's checksum) and parses again
whatever differs, so the cache can make a build slower at worst, never wrong. A cached parse is
written to a temporary file and renamed into place, so two processes racing never leave half
of one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sources.livechat.exceptions import LiveChatError

from .fingerprint import package_files

PROJECT_DIR = Path(__file__).parent
# The shipped profiles, in a folder of their own: dbt run from transforms/ reads the user's
# ~/.dbt/profiles.yml (or --profiles-dir), never these by accident.
PROFILES_DIR = PROJECT_DIR / "profiles"
# The profiles the command builds with, one per destination type (`<prefix>duckdb`, ...), named
# so that no one takes them for theirs; `livechat` in the same file is the one for users.
COMMAND_PROFILE_PREFIX = "livechat_reports_command_"
# dbt's node statuses that fail a build ("skipped" nodes only follow a failure).
FAILED_STATUSES = ("fail", "error", "runtime error")
# What a load builds (the selector in selectors.yml): every model, and the grain tests of the
# loaded tables. `transform` builds everything: the tests of the models and the unit tests too.
LOAD_SELECTOR = "load"
# The credentials' fields that the profiles read, as DLT__CREDENTIALS__<FIELD>.
CREDENTIAL_FIELDS = ("database", "host", "port", "username", "password", "connect_timeout")
# dbt's saved parse, in its target folder (dbt's name).
PARSE_FILE = "partial_parse.msgpack"


class TransformFailed(LiveChatError):
    """dbt could not build the models, or one of their tests failed.

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
        """The models built, in build order (`names`: the package's models)."""
        return tuple(node for node in self.nodes if node in names)

    def tests(self, names: set[str]) -> int:
        """How many data and unit tests passed (every node that is not a model)."""
        return sum(1 for node in self.nodes if node not in names)


@dataclass(frozen=True)
class Target:
    """Where dbt builds: the destination type, its connection, and the dataset.

    Attributes:
        destination_type: dlt's destination type (`duckdb`, `postgres`); it names the profile.
        credentials: The pipeline's destination credentials (a dlt credentials object).
        dataset: The dataset (schema) that holds the loaded tables and gets the models.
    """

    destination_type: str
    credentials: Any
    dataset: str

    @property
    def profile(self) -> str:
        """The command's profile for the destination type, in profiles/profiles.yml."""
        return command_profile(self.destination_type)

    def environment(self) -> dict[str, str]:
        """The variables the profile reads; they hold secrets, so they go to dbt's process only."""
        values = {}
        for name in CREDENTIAL_FIELDS:
            value = getattr(self.credentials, name, None)
            if value is not None and value != "":
                values[f"DLT__CREDENTIALS__{name.upper()}"] = str(value)
        return values


def dbt_build(target: Target, work: Path, *, select_load: bool = False) -> BuildResult:
    """Run `dbt build` (models, data tests and unit tests in DAG order) on the destination.

    Args:
        target: Where to build.
        work: dbt's own folder (target and logs), in the pipeline's working directory.
        select_load: Build only what a load needs (`LOAD_SELECTOR`) instead of everything.

    Raises:
        TransformFailed: Naming every failed model or test, or dbt's own error.
    """
    target_dir = work / "target"
    target_dir.mkdir(parents=True, exist_ok=True)
    shared = _shared_parse(target, work)
    _adopt_parse(shared, target_dir / PARSE_FILE)
    results_file = target_dir / "run_results.json"
    results_file.unlink(missing_ok=True)  # a failed parse writes none: never read an old one
    arguments = ["--selector", LOAD_SELECTOR] if select_load else []
    done = _run_dbt("build", arguments, target, work)
    events = _events(done.stdout)
    results = _results(results_file)
    failed = [
        (_node_name(unique_id, events), status, _first_line(message))
        for unique_id, status, message in results
        if status in FAILED_STATUSES
    ]
    if done.returncode != 0 or failed:
        output = "\n".join([*_errors(done.stdout), done.stderr])
        raise TransformFailed(failed, output)
    _publish_parse(target_dir / PARSE_FILE, shared)
    # Hooks (`operation.<package>.<package>-on-run-start-0`) are neither models nor tests.
    ran = [unique_id for unique_id, _, _ in results if not unique_id.startswith("operation.")]
    return BuildResult(tuple(_short_name(unique_id, events) for unique_id in ran))


def dbt_parse(target: Target, work: Path) -> bool:
    """Parse the package for `target` and share the parse, as a first build would.

    `make venv` runs it (`python -m transforms.warm`) so that the first build of the views on
    the machine, for a file of the default names, starts from a saved parse.

    Returns:
        Whether dbt parsed the package (and the parse was shared).
    """
    shared = _shared_parse(target, work)
    done = _run_dbt("parse", [], target, work)
    if done.returncode != 0:
        return False
    _publish_parse(work / "target" / PARSE_FILE, shared)
    return shared.is_file()


def _run_dbt(
    command: str, arguments: list[str], target: Target, work: Path
) -> subprocess.CompletedProcess[str]:
    """Run `dbt COMMAND` on the package for `target`, dbt's target and logs in `work`."""
    target_dir, log_dir = work / "target", work / "logs"
    target_dir.mkdir(parents=True, exist_ok=True)
    where, connection = _connection(target, work)
    args = [
        *dbt_command(),
        "--log-format", "json", "--log-format-file", "debug", "--no-use-colors",
        command,
        "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(PROFILES_DIR),
        "--profile", target.profile,
        "--vars", json.dumps({"source_dataset_name": target.dataset}),
        "--target-path", str(target_dir),
        "--log-path", str(log_dir),
        *arguments,
    ]  # fmt: skip
    environment = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **connection}
    return subprocess.run(
        args, env=environment, capture_output=True, text=True, check=False, cwd=str(where)
    )


def _connection(target: Target, work: Path) -> tuple[Path, dict[str, str]]:
    """The folder dbt runs in and the variables the profile reads.

    A DuckDB file is named relative to its own folder, so that the connection dbt checks a
    saved parse against is the same for every file of that name (see the module's docstring).
    """
    environment = target.environment()
    database = environment.get("DLT__CREDENTIALS__DATABASE", "")
    if target.destination_type == "duckdb" and database and Path(database).is_file():
        path = Path(database).resolve()
        environment["DLT__CREDENTIALS__DATABASE"] = path.name
        return path.parent, environment
    return work, environment


def command_profile(destination_type: str) -> str:
    """The name of the command's profile for a destination type."""
    return f"{COMMAND_PROFILE_PREFIX}{destination_type}"


def parse_key(
    root: Path, destination_type: str, connection: dict[str, str], variables: dict[str, Any]
) -> str:
    """Name the saved parse that fits this package, dbt, profile, connection and variables.

    Everything dbt checks a saved parse against, and more (its own check has the last word):
    the package's files and folder, the versions of dbt and the adapter, the profile, the
    connection's variables (without the password, which dbt does not check either: a changed
    password keeps the parse) and dbt's variables.
    """
    profile = command_profile(destination_type)
    digest = hashlib.sha256()
    digest.update(
        f"{root.resolve()}\0{profile}\0{json.dumps(variables, sort_keys=True)}\0".encode()
    )
    for package in ("dbt-core", f"dbt-{destination_type}"):
        try:
            digest.update(f"{package}=={version(package)}\0".encode())
        except PackageNotFoundError:
            digest.update(f"{package} missing\0".encode())
    for name, value in sorted(connection.items()):
        if name != "DLT__CREDENTIALS__PASSWORD":
            digest.update(f"{name}={value}\0".encode())
    for path in package_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def parse_cache_dir() -> Path:
    """The user's cache folder for saved parses (`$XDG_CACHE_HOME`, else ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "livechat-reports" / "dbt-parse"


def _shared_parse(target: Target, work: Path) -> Path:
    """Where the saved parse for `target` is shared (see `parse_key`)."""
    _, connection = _connection(target, work)
    variables = {"source_dataset_name": target.dataset}
    key = parse_key(PROJECT_DIR, target.destination_type, connection, variables)
    return parse_cache_dir() / f"{key}.msgpack"


def _adopt_parse(shared: Path, own: Path) -> None:
    """Start from the shared parse when this pipeline has none of its own yet (best effort)."""
    if own.exists() or not shared.is_file():
        return
    try:
        shutil.copyfile(shared, own)
    except OSError:
        own.unlink(missing_ok=True)


def _publish_parse(own: Path, shared: Path) -> None:
    """Share this pipeline's parse after a build that passed, whole or not at all."""
    if shared.exists() or not own.is_file():
        return
    try:
        shared.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=shared.parent, suffix=".tmp", delete=False) as f:
            temporary = Path(f.name)
        try:
            shutil.copyfile(own, temporary)
            os.replace(temporary, shared)
        finally:
            temporary.unlink(missing_ok=True)
    except OSError:
        pass  # a cache that cannot be written costs the next fresh file a full parse, no more


def dbt_command() -> list[str]:
    """This environment's `dbt`, whether or not the environment is activated."""
    beside = Path(sys.executable).parent / "dbt"
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-m", "dbt.cli.main"]  # dbt's own module entry point


def _events(stdout: str) -> dict[str, tuple[str, str]]:
    """(resource type, name) of every node dbt logged, by unique id (its JSON log lines)."""
    nodes = {}
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        info = (event.get("data") or {}).get("node_info") if isinstance(event, dict) else None
        if info and info.get("unique_id"):
            nodes[info["unique_id"]] = (str(info["resource_type"]), str(info["node_name"]))
    return nodes


def _errors(stdout: str) -> list[str]:
    """Return the error messages of dbt's JSON log lines (plain lines as they are)."""
    messages = []
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            messages.append(line)
            continue
        info = event.get("info", {}) if isinstance(event, dict) else {}
        if info.get("level") == "error":
            messages.append(str(info.get("msg", "")))
    return messages


def _results(path: Path) -> list[tuple[str, str, Any]]:
    """(unique id, status, message) of every node run, in order, from dbt's run_results.json."""
    try:
        results = json.loads(path.read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError):
        return []
    return [(str(r["unique_id"]), str(r["status"]), r.get("message")) for r in results]


def _node_name(unique_id: str, events: dict[str, tuple[str, str]]) -> str:
    resource_type, name = events.get(unique_id, (unique_id.split(".")[0], unique_id))
    return f"{resource_type} {name}"


def _short_name(unique_id: str, events: dict[str, tuple[str, str]]) -> str:
    return events.get(unique_id, ("", unique_id))[1]


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


# Lines of a Python traceback: where dbt crashed, not why (the error line says why).
TRACEBACK_LINES = ("Traceback (most recent call last)", "--- Logging error ---", 'File "')


def _last_error(output: str) -> str:
    """Return dbt's own error text in one line (a compile error leaves no node results)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if "Error" in line:
            told = [line]
            for more in lines[index + 1 : index + 3]:
                if more.startswith(TRACEBACK_LINES):
                    break
                told.append(more)
            return " ".join(told)[:500]
    return ""


def missing_dbt(destination_type: str) -> str | None:
    """Return why dbt cannot run on this destination here (a package missing), or None.

    Looks the modules up without importing them (importing dbt takes a second or more).
    """
    for module in ("dbt.cli", f"dbt.adapters.{destination_type}"):
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
