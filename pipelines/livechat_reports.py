"""Build the pipeline, run a load, run the transforms: what the CLI and schedulers call."""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
from dlt.common.destination import Destination, TLoaderFileFormat
from dlt.common.normalizers.naming.snake_case import NamingConvention as SnakeCase
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.pipeline.helpers import retry_schema_update
from dlt.pipeline.pipeline import Pipeline

from pipelines.destination import held_open, probe_destination
from sources.livechat import LoadOptions, ShardLoad, build_load
from sources.livechat.cursors import STATE_KEY
from sources.livechat.exceptions import LiveChatError
from sources.livechat.lineage import LINEAGE_TABLE
from sources.livechat.meaning import STATE_KEY as MEANING_KEY
from sources.livechat.meaning import DatasetMeaningChanged, RefreshLeavesTables, changes
from sources.livechat.settings import Settings

from .cursor_record import recorded_cursors
from .groups import unseen_groups
from .meaning_record import recorded_meanings
from .pending import newer_finished_load
from .progress import Tally

logger = logging.getLogger("livechat_reports")

DEFAULT_PIPELINE = "livechat_reports"
DEFAULT_DATASET = "livechat_reports"
# Not named like the dataset: DuckDB finds `livechat_reports.livechat_reports` ambiguous.
DEFAULT_DUCKDB_FILE = "livechat.duckdb"


@dataclass
class LoadSummary:
    """What a load did, for the closing summary.

    Attributes:
        load_id: dlt's load id, or None when nothing was loaded.
        rows: Real rows loaded per table (the merge's placeholder rows are not counted).
        requests: API requests made (retries included).
        retried: Of those, retries.
        first_day: The first day covered by the requests.
        last_day: The last day covered.
        seconds: Elapsed time.
        finished_pending: Load packages of an earlier, interrupted run that were finished first.
        discarded_pending: Such packages that could not be loaded and were discarded (their
            days were loaded again by this run).
        destination: Where the data went, for people (a DuckDB file's absolute path).
        transform: What running the transforms did (`transforms.TransformResult`), or None.
        unseen_groups: Listed breakdown groups no loaded day of chats_groups gives a chat.
        unseen_by_account: The same per account name (of a shard's accounts).
        failed: The accounts whose requests failed, by name, with the error.
        per_account: Requests and days per account id, from the lineage table.
    """

    load_id: str | None
    rows: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    retried: int = 0
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    seconds: float = 0.0
    finished_pending: int = 0
    discarded_pending: int = 0
    destination: str = ""
    transform: Any = None
    resources: list[str] = field(default_factory=list)
    unseen_groups: tuple[int, ...] = ()
    unseen_by_account: dict[str, tuple[int, ...]] = field(default_factory=dict)
    failed: dict[str, BaseException] = field(default_factory=dict)
    per_account: dict[str, AccountFigures] = field(default_factory=dict)


@dataclass
class AccountFigures:
    """What a load asked for one account (read back from the lineage table)."""

    requests: int = 0
    retried: int = 0
    first_day: dt.date | None = None
    last_day: dt.date | None = None


# Loader file formats that beat a destination's default; others use the destination's own.
FILE_FORMATS: dict[str, TLoaderFileFormat] = {"duckdb": "parquet"}
# The most rows a load step writes with the DuckDB file held open (`held_open`). Held open, an
# incremental run into a file of ten datasets took 0.8 s instead of 5.0 s; but the rows stayed
# in memory until the file was closed (a two-year hourly backfill, 268,000 rows, peaked at 425 MB
# instead of 300 MB), so larger loads let dlt open and close the file per job. Measured before
# the loads checkpointed every commit (below); not measured again since.
HOLD_OPEN_ROWS = 50_000
# DuckDB checkpoints its log into the file after every commit of a load (each dlt job). dlt
# sets 1 GB on every connection it opens, so with the file held open a load step kept all it
# wrote in memory until the file was closed; and appending to a table that already has rows
# takes a block per column, whatever the rows: an incremental run of one account left 200 MB
# of them (`duckdb_memory()`), a shard of 100 accounts peaked 100 MB above its level. A
# threshold of 1 MB still kept a small run's writes (its log stays under it).
DUCKDB_CHECKPOINT_THRESHOLD = "0B"


def duckdb_path(duckdb_file: str | None = None) -> str:
    """Return the absolute path of the DuckDB file to write.

    The first of `duckdb_file`, `DESTINATION__DUCKDB__CREDENTIALS`, `[destination.duckdb]
    credentials` in `.dlt/secrets.toml` or `.dlt/config.toml`, and `livechat.duckdb`. A relative
    path means the current directory: dlt alone would resolve it against the directory of the
    pipeline's first run.
    """
    configured = duckdb_file or os.environ.get("DESTINATION__DUCKDB__CREDENTIALS")
    if not configured:
        configured = _configured_duckdb() or DEFAULT_DUCKDB_FILE
    if configured.startswith("duckdb:///"):
        configured = configured[len("duckdb:///") :]
    return os.path.abspath(os.path.expanduser(configured))


def _configured_duckdb() -> str | None:
    for accessor in (dlt.secrets, dlt.config):
        try:
            value: Any = accessor.get("destination.duckdb.credentials")
        except Exception:  # an unreadable or mistyped value: dlt reports it when it loads
            continue
        if isinstance(value, Mapping):
            value = value.get("database")
        if isinstance(value, str) and value:
            return value
    return None


def destination_for(
    name: str,
    duckdb_file: str | None = None,
    credentials: Any = None,
    staging_dataset_name_layout: str | None = None,
) -> Any:
    """Return the destination to load into.

    DuckDB goes to the file `duckdb_path` names (absolute); other destinations are configured
    the dlt way (`.dlt/secrets.toml`, environment), or with `credentials`.
    `staging_dataset_name_layout` (dlt's setting, e.g. `%s_staging_acme`) gives a pipeline a
    staging dataset of its own; default dlt's (`%s_staging`, or the configured one).
    """
    options: dict[str, Any] = {}
    if staging_dataset_name_layout is not None:
        options["staging_dataset_name_layout"] = staging_dataset_name_layout
    if name != "duckdb":
        return Destination.from_reference(name, credentials=credentials, **options)
    # A credentials object, not the path as text: dlt parses text as a connection string, which
    # imports SQLAlchemy (about 0.65 s of every run's CPU).
    file = DuckDbCredentials()
    file.database = duckdb_path(duckdb_file)
    # dlt runs these after its own settings on every connection it opens, so this one wins.
    file.pragmas = [f"checkpoint_threshold='{DUCKDB_CHECKPOINT_THRESHOLD}'"]
    return dlt.destinations.duckdb(file, **options)


def dataset_name_for(dataset_name: str) -> str:
    """Return the dataset name as the destination will store it, saying once if it differs.

    dlt renames a dataset that is not snake_case (`my data` becomes `my_data`), and warns about
    it at every step; the command says it once instead.
    """
    normalized = SnakeCase().normalize_table_identifier(dataset_name)
    if normalized != dataset_name:
        logger.warning("Dataset `%s` is stored as `%s`", dataset_name, normalized)
    return str(normalized)


def build_pipeline(
    pipeline_name: str = DEFAULT_PIPELINE,
    destination: str = "duckdb",
    dataset_name: str = DEFAULT_DATASET,
    duckdb_file: str | None = None,
    pipelines_dir: str | None = None,
    credentials: Any = None,
    staging_dataset_name_layout: str | None = None,
) -> Pipeline:
    """Create (or attach to) the pipeline that writes one destination and dataset.

    Nothing of its local state is touched here: `run_load` adopts the destination's state
    under the pipeline's lock (see `adopt_destination_state`). `staging_dataset_name_layout`
    gives the pipeline its own staging dataset (see `destination_for`).
    """
    options: dict[str, Any] = {}
    if pipelines_dir:
        options["pipelines_dir"] = pipelines_dir
    pipeline: Pipeline = dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=destination_for(
            destination, duckdb_file, credentials, staging_dataset_name_layout
        ),
        dataset_name=dataset_name_for(dataset_name),
        **options,
    )
    return pipeline


def adopt_destination_state(pipeline: Pipeline) -> Pipeline:
    """Make the pipeline's local state the state of the destination and dataset it writes.

    dlt keeps a pipeline's local state in one folder per pipeline name, wherever it is run
    from. A state left by a run into another destination or dataset (another folder's DuckDB
    file, a moved folder, `--dataset` changed) says nothing about this one, so it is dropped
    and dlt restores this destination's own state when the run syncs, together with any
    package that other run left unfinished: that destination loads those days again on its
    next run, from its own state. Call it while holding the pipeline's lock.

    Returns:
        The pipeline to use (re-initialized when its local state was dropped).
    """
    identity = destination_identity(pipeline)
    try:
        recorded = pipeline.get_local_state_val(IDENTITY_KEY)
    except KeyError:
        recorded = None
    if recorded != identity:
        if recorded is not None or pipeline.has_pending_data:
            logger.info(
                "Pipeline `%s` last wrote %s; this run writes %s and takes its state from there",
                pipeline.pipeline_name, recorded or "another destination", identity,
            )  # fmt: skip
        pipeline = pipeline.drop()
        pipeline.set_local_state_val(IDENTITY_KEY, identity)
    database = _duckdb_database(pipeline)
    if database is not None:
        # Where `dlt.attach(pipeline_name)` and `dlt pipeline <name> ...` find the file.
        pipeline.set_local_state_val("duckdb_database", database)
    return pipeline


def _duckdb_database(pipeline: Pipeline) -> str | None:
    if pipeline.destination is None or pipeline.destination.destination_name != "duckdb":
        return None
    database = getattr(pipeline.destination_client().config.credentials, "database", None)
    return str(database) if database else None


IDENTITY_KEY = "livechat_destination"


def destination_identity(pipeline: Pipeline) -> str:
    """Return what identifies the data a pipeline writes: destination, location, dataset.

    Never holds a secret: the location is a DuckDB file's path, or a server's user, host,
    port and database.
    """
    config = pipeline.destination_client().config
    credentials: Any = getattr(config, "credentials", None)
    location = getattr(credentials, "database", None) or ""
    if getattr(credentials, "host", None):
        user = getattr(credentials, "username", None)
        port = getattr(credentials, "port", None)
        server = f"{user + '@' if user else ''}{credentials.host}{f':{port}' if port else ''}"
        location = f"{server}/{location}"
    elif not location:
        location = str(config.fingerprint())
    return f"{config.destination_type}:{location}#{pipeline.dataset_name}"


def describe_destination(pipeline: Pipeline) -> str:
    """Say where a pipeline's data is, for people: the DuckDB file's path, or the destination."""
    identity = destination_identity(pipeline)
    kind, _, rest = identity.partition(":")
    location, _, dataset = rest.rpartition("#")
    if kind == "duckdb":
        return f"{location} (dataset {dataset})"
    return f"{kind} {location} (dataset {dataset})"


class LoadInProgressError(LiveChatError):
    """Another load of the same pipeline is running; this one was refused before it began."""


@contextmanager
def exclusive(pipeline: Pipeline) -> Iterator[None]:
    """Hold the pipeline's lock for one load, or refuse when another process holds it.

    Two loads of one pipeline would share its working directory and state; the second is
    refused with the first one's process id instead of corrupting either.

    Raises:
        LoadInProgressError: When another process holds the lock.
    """
    # Beside the working dir, not in it: adopting another destination's state wipes the dir.
    path = Path(pipeline.pipelines_dir) / f".{pipeline.pipeline_name}.livechat-reports.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise LoadInProgressError(
                f"Another load of pipeline `{pipeline.pipeline_name}` is running (pid {holder});"
                " this one was not started. Wait for it to finish, then run again."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_workers(pipeline: Pipeline) -> int:
    """Return how many load jobs run at once: 1 for DuckDB, dlt's default (20) elsewhere.

    DuckDB is a single-writer file, so parallel merges only add memory: a two-year hourly
    backfill peaked at 350 MB with 20 workers and at 243 MB with 1, for 1 s more of loading.
    """
    destination = pipeline.destination
    return 1 if destination is not None and destination.destination_name == "duckdb" else 20


def release_arrow_memory() -> None:
    """Give back the memory pyarrow's allocator kept from normalizing, before the load step.

    Writing parquet leaves freed blocks in pyarrow's pool, which the load step would add to: a
    two-year hourly backfill peaked at 299 MiB with them and 283 MiB without (pool released,
    RSS 290 -> 263 MiB between the steps).
    """
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        pyarrow.default_memory_pool().release_unused()


def finish_pending(pipeline: Pipeline) -> tuple[int, int]:
    """Finish load packages an interrupted run left behind, before extracting anything new.

    dlt would otherwise finish them and skip the new extraction silently. Their data and their
    state belong together, so loading them is safe; merges make it idempotent. A package that
    cannot be loaded (its files damaged, say) is discarded instead and the local state rewound
    to before it, so this run loads its days again; nothing needs a manual command.

    Returns:
        How many packages were finished, and how many were discarded.
    """
    if not pipeline.has_pending_data:
        return 0, 0
    packages = [*pipeline.list_normalized_load_packages(), *pipeline.list_extracted_load_packages()]
    newer = newer_finished_load(pipeline, packages)
    if newer is not None:
        logger.warning(
            "Discarding %d load package(s) left by an interrupted run of pipeline `%s`: the"
            " dataset has a finished load since (%s), which loading them would overwrite with"
            " older rows. This run loads their days again from the recorded cursors (a"
            " backfill that was interrupted must be run again).",
            len(packages), pipeline.pipeline_name, newer,
        )  # fmt: skip
        pipeline.abort_packages()
        pipeline.load(workers=load_workers(pipeline))
        return 0, len(packages)
    logger.warning(
        "Finishing %d load package(s) left by an interrupted run before loading new data",
        len(packages),
    )
    try:
        pipeline.normalize()
        pipeline.load(workers=load_workers(pipeline))
    except PipelineStepFailed as error:
        logger.warning(
            "The package(s) left by the interrupted run cannot be loaded (%s: %s); discarding"
            " them and rewinding the state, so this run loads their days again",
            error.step,
            _root_cause(error),
        )
        pipeline.abort_packages()
        pipeline.load(workers=load_workers(pipeline))
        return 0, len(packages)
    return len(packages), 0


def _root_cause(error: BaseException) -> str:
    while error.__cause__ is not None:
        error = error.__cause__
    return f"{type(error).__name__}: {str(error)[:200]}"


def run_load(
    pipeline: Pipeline,
    options: LoadOptions | None = None,
    *,
    transform: bool = True,
    progress: Tally | None = None,
    load_lock: AbstractContextManager[Any] | None = None,
) -> LoadSummary:
    """Run one load of the account `options` name (or configure): build its source, then load it.

    Args:
        pipeline: The pipeline from `build_pipeline`.
        options: The run's settings that override config (dates, reports, ...); the
            configuration is read for the others (under the pipeline's name too, as dlt reads
            a source's), unless they are `resolved`.
        transform: Whether to rebuild the SQL views after the load.
        progress: Counts requests and rows and shows them (`pipelines.progress`); it also
            supplies the summary's rows. Default: counted, not shown.
        load_lock: See `load_source`.

    Raises:
        ConfigurationError: On invalid settings, before any request.
        See `load_source` for the others.
    """
    tally = progress or Tally()
    load = build_load(
        options or LoadOptions(), progress=tally, pipeline_name=pipeline.pipeline_name
    )
    return load_source(pipeline, load, tally, transform=transform, load_lock=load_lock)


def load_source(
    pipeline: Pipeline,
    load: ShardLoad,
    tally: Tally,
    *,
    transform: bool = True,
    load_lock: AbstractContextManager[Any] | None = None,
    account_tallies: Mapping[str, Tally] | None = None,
) -> LoadSummary:
    """Run one load: finish what an interrupted run left, extract, normalize, load, transform.

    The one way every load runs: the command's single account (`run_load`), each shard of many
    accounts and Dagster's assets (`accounts.run_accounts`, whose shards are built before any
    shard's first request).

    Args:
        pipeline: The pipeline from `build_pipeline`.
        load: The source to load, built once (`sources.livechat.build_load`).
        tally: The progress the source was built with (it counts the requests and rows, and
            supplies the summary's rows).
        transform: Whether to rebuild the SQL views after the load.
        load_lock: Held while this run opens the destination (prepare, load, reading the
            lineage back) and while it normalizes; loads of several shards in one process
            share one, so only their requests overlap (DuckDB races when one process attaches
            one file from several threads at once, creating a dataset's tables would race, and
            each normalize or load holds its package's rows in memory).
        account_tallies: A tally per account name of a shard, counting that account alone
            (the summary's rows are those of the accounts loaded).

    Returns:
        The summary of the load; `failed` names the accounts whose requests failed (their
        rows were not loaded and their cursors did not move).

    Raises:
        DestinationUnusable: When the destination cannot be opened, before any request.
        LiveChatError: When the load has one account and its requests failed.
        PipelineStepFailed: When a step failed; a failed load step may have committed some
            tables (the next run finishes its package).
    """
    started = time.monotonic()
    source, shard = load.source, load.fetch
    writing = load_lock or nullcontext()
    try:
        with exclusive(pipeline):
            database = _duckdb_database(pipeline)
            with tally.step("prepare"), writing, held_open(database):
                pipeline, finished, discarded = prepare(pipeline, load)
            info = _extract_normalize_load(pipeline, load, tally, writing, database)
    finally:
        shard.close()
    failed = {o.account.name: o.error for o in shard.results() if o.error is not None}
    if failed and len(shard.accounts) == 1:
        raise next(iter(failed.values()))
    if info is not None:
        info.raise_on_failed_jobs()
    loaded = [o.account for o in shard.results() if o.error is None]
    summary = LoadSummary(
        load_id=info.loads_ids[-1] if info is not None and info.loads_ids else None,
        # Counted as the source yields them: normalize's counts include placeholder rows.
        rows=_rows_of(tally, account_tallies, [a.name for a in loaded]),
        finished_pending=finished,
        discarded_pending=discarded,
        destination=describe_destination(pipeline),
        resources=list(source.selected_resources),
        failed=failed,
    )
    if summary.load_id is not None:
        with writing, held_open(database):
            _read_lineage(pipeline, summary)
            for account in loaded:
                unseen = unseen_groups(pipeline, account.settings)
                if unseen:
                    summary.unseen_by_account[account.name] = unseen
            summary.unseen_groups = tuple(
                sorted({g for unseen in summary.unseen_by_account.values() for g in unseen})
            )
    if transform and summary.load_id is not None:
        from transforms import DbtNotInstalled, run_transforms

        with tally.step("transform"):
            try:
                # Models are rebuilt only when the package or the tables' columns changed.
                summary.transform = run_transforms(pipeline, force=False)
            except DbtNotInstalled as error:
                logger.warning("The data is loaded, but the views were not built: %s", error)
    summary.seconds = time.monotonic() - started
    return summary


def _rows_of(
    tally: Tally, account_tallies: Mapping[str, Tally] | None, loaded: list[str]
) -> dict[str, int]:
    """Rows per table of the accounts loaded (a failed account's rows were not)."""
    if account_tallies is None:
        return tally.rows_by_table()
    rows: dict[str, int] = {}
    for name in loaded:
        for table, count in account_tallies[name].rows_by_table().items():
            rows[table] = rows.get(table, 0) + count
    return rows


def prepare(pipeline: Pipeline, load: ShardLoad) -> tuple[Pipeline, int, int]:
    """Make a pipeline ready to load `load`, before any request; hold `exclusive` around it.

    Checks the destination, takes the destination's state (`adopt_destination_state`),
    finishes the packages an interrupted run left (`finish_pending`), syncs, reads every
    account's cursors from the dataset into `load.cursors`, and refuses a run whose settings would
    change what an account's rows mean (`refuse_changed_meaning`).

    Returns:
        The pipeline to use, and how many left packages were finished and discarded.
    """
    probe_destination(pipeline)
    pipeline = adopt_destination_state(pipeline)
    finished, discarded = finish_pending(pipeline)
    # What `pipeline.run` does, step by step, so the load step gets its own workers.
    pipeline.sync_destination()
    load.cursors.fill(recorded_cursors(pipeline, [a.account_id for a in load.accounts]))
    refuse_changed_meaning(pipeline, load)
    return pipeline, finished, discarded


def _extract_normalize_load(
    pipeline: Pipeline,
    load: ShardLoad,
    tally: Tally,
    writing: AbstractContextManager[Any],
    database: str | None,
) -> Any:
    """Run dlt's three steps of a prepared pipeline; return the load step's info.

    When no account could be fetched, the empty package is dropped and None returned: there is
    nothing to load, and a package left behind would read as an interrupted run's.
    """
    destination = pipeline.destination.destination_name if pipeline.destination else None
    with tally.step("extract"):
        pipeline.extract(load.source, loader_file_format=FILE_FORMATS.get(destination or ""))
    if all(o.error is not None for o in load.fetch.results()):
        pipeline.drop_pending_packages()
        return None
    # One shard of a process normalizes at a time, as one loads at a time: both steps are
    # CPU-bound (threads gain nothing under the GIL) and hold the package's rows, so a process
    # loading several shards peaks at one shard's memory, not one per shard loading at once.
    with tally.step("normalize"), writing:
        pipeline.normalize()
        release_arrow_memory()
    # Held open, the file keeps the run's new rows in memory until it is closed: worth it
    # for the many small jobs of an incremental run, not for a large backfill.
    rows = sum(tally.rows_by_table().values())
    with tally.step("load"), writing, held_open(database if rows <= HOLD_OPEN_ROWS else None):
        return load_step(pipeline)


# Loads of several processes (shards) into one new dataset race to create its schema and tables.
SCHEMA_UPDATE_ATTEMPTS = 3


def load_step(pipeline: Pipeline) -> Any:
    """Run dlt's load step, again when another process created a schema or table at once.

    When two sessions create one schema or table, the loser's CREATE fails (on PostgreSQL it
    waits for the winner, then violates a catalog index). dlt then raises a schema update error,
    which its `retry_schema_update` says is safe to retry: the package is untouched, and the
    next attempt reads the destination again and applies only what is still missing.
    """
    retryable = retry_schema_update()
    for attempt in range(1, SCHEMA_UPDATE_ATTEMPTS + 1):
        try:
            return pipeline.load(workers=load_workers(pipeline))
        except PipelineStepFailed as error:
            if attempt == SCHEMA_UPDATE_ATTEMPTS or not retryable(error):
                raise
            logger.info("Another load changed the dataset's schema at once; loading again")
    raise AssertionError("unreachable")


def refuse_changed_meaning(pipeline: Pipeline, load: ShardLoad) -> None:
    """Refuse a run whose settings would give an account's rows another meaning than before.

    The meaning (account, timezone, distribution, filters) is read from the dataset itself
    (`meaning_record.recorded_meanings`: its `account_loads` table, whatever pipeline wrote it,
    else the pipelines' state of datasets loaded before that table existed). Call after
    `sync_destination`, before any request.

    Raises:
        DatasetMeaningChanged: When a setting differs and the run is not a refresh.
        RefreshLeavesTables: When a refresh leaves out reports that hold rows.
    """
    state = pipeline.state.get("sources", {}).get(load.source.name, {})
    accounts = load.accounts
    records = recorded_meanings(pipeline, [a.account_id for a in accounts], state.get(MEANING_KEY))
    for account in accounts:
        settings = account.settings
        changed = changes(records.get(settings.account_id), settings.meaning)
        if changed and not settings.refresh:
            raise _named(
                account.name, settings, DatasetMeaningChanged(pipeline.dataset_name, changed)
            )
        if settings.refresh:
            selected = {r.name for r in settings.resources}
            loaded = sorted(
                name
                for name, cursor in load.cursors.states(settings.account_id).items()
                if cursor.get(STATE_KEY) and name not in selected
            )
            if loaded:
                raise _named(
                    account.name, settings, RefreshLeavesTables(pipeline.dataset_name, loaded)
                )


def _named(name: str, settings: Settings, error: LiveChatError) -> LiveChatError:
    """The error, naming the account when it is one of several (a configuration section)."""
    if name != settings.account_id:
        error.args = (f"Account `{name}`: {error}",)
    return error


def _read_lineage(pipeline: Pipeline, summary: LoadSummary) -> None:
    """Read the load's requests and days, per account and in all, from the lineage table."""
    with pipeline.sql_client() as client:
        name = client.make_qualified_table_name(LINEAGE_TABLE)
        rows = client.execute_sql(
            "select account_id, count(*), sum(attempts),"
            " min(case when period is null then window_from end),"
            " max(case when period is null then window_to end)"
            f" from {name} where _dlt_load_id = %s group by account_id",
            summary.load_id,
        )
    for account_id, count, attempts, first, last in rows or []:
        figures = AccountFigures(int(attempts or 0), int(attempts or 0) - int(count or 0))
        figures.first_day, figures.last_day = first, last
        summary.per_account[str(account_id)] = figures
    every = summary.per_account.values()
    summary.requests = sum(f.requests for f in every)
    summary.retried = sum(f.retried for f in every)
    firsts = [f.first_day for f in every if f.first_day is not None]
    lasts = [f.last_day for f in every if f.last_day is not None]
    summary.first_day = min(firsts) if firsts else None
    summary.last_day = max(lasts) if lasts else None
