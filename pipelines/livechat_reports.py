"""Build the pipeline, run a load, run the transforms: what the CLI and schedulers call."""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
from dlt.common.destination import Destination, TLoaderFileFormat
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.pipeline.pipeline import Pipeline

from pipelines.destination import check_destination
from sources.livechat import livechat_reports
from sources.livechat.exceptions import LiveChatError
from sources.livechat.extract import LINEAGE_TABLE

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
        rows: Rows loaded per table.
        requests: API requests made (retries included).
        retried: Of those, retries.
        first_day: The first day covered by the requests.
        last_day: The last day covered.
        seconds: Elapsed time.
        finished_pending: Load packages of an earlier, interrupted run that were finished first.
        discarded_pending: Such packages that could not be loaded and were discarded (their
            days were loaded again by this run).
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


# Loader file formats that beat a destination's default; others use the destination's own.
FILE_FORMATS: dict[str, TLoaderFileFormat] = {"duckdb": "parquet"}


def destination_for(name: str, duckdb_file: str | None = None, credentials: Any = None) -> Any:
    """Return the destination to load into.

    DuckDB goes to `livechat.duckdb` in the working directory unless dlt's own
    `DESTINATION__DUCKDB__CREDENTIALS` (or `duckdb_file`) says otherwise; other destinations are
    configured the dlt way (`.dlt/secrets.toml`, environment), or with `credentials`.
    """
    if name != "duckdb":
        return Destination.from_reference(name, credentials=credentials)
    configured = os.environ.get("DESTINATION__DUCKDB__CREDENTIALS")
    if duckdb_file is None and configured is None:
        try:
            configured = dlt.secrets.get("destination.duckdb.credentials")
        except Exception:
            configured = None
    return dlt.destinations.duckdb(duckdb_file or configured or DEFAULT_DUCKDB_FILE)


def build_pipeline(
    pipeline_name: str = DEFAULT_PIPELINE,
    destination: str = "duckdb",
    dataset_name: str = DEFAULT_DATASET,
    duckdb_file: str | None = None,
    pipelines_dir: str | None = None,
    credentials: Any = None,
) -> Pipeline:
    """Create (or attach to) the pipeline."""
    options: dict[str, Any] = {}
    if pipelines_dir:
        options["pipelines_dir"] = pipelines_dir
    pipeline: Pipeline = dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=destination_for(destination, duckdb_file, credentials),
        dataset_name=dataset_name,
        **options,
    )
    return pipeline


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
    path = Path(pipeline.working_dir) / "livechat-reports.lock"
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
    source_options: Mapping[str, Any] | None = None,
    *,
    transform: bool = True,
) -> LoadSummary:
    """Run one load: finish what an interrupted run left, extract, normalize, load, transform.

    Args:
        pipeline: The pipeline from `build_pipeline`.
        source_options: Arguments for `livechat_reports` that override config (dates, reports, ...).
        transform: Whether to rebuild the SQL views after the load.

    Returns:
        The summary of the load.

    Raises:
        ConfigurationError: On invalid settings, before any request.
        DestinationUnusable: When the destination cannot be opened, before any request.
        PipelineStepFailed: When a step failed; a failed load step may have committed some
            tables (the next run finishes its package).
    """
    started = time.monotonic()
    source = livechat_reports(**dict(source_options or {}))
    with exclusive(pipeline):
        check_destination(pipeline)  # before any request, and before pending packages are touched
        finished, discarded = finish_pending(pipeline)
        # What `pipeline.run` does, step by step, so the load step gets its own worker count.
        pipeline.sync_destination()
        destination = pipeline.destination.destination_name if pipeline.destination else None
        pipeline.extract(source, loader_file_format=FILE_FORMATS.get(destination or ""))
        normalized = pipeline.normalize()
        info = pipeline.load(workers=load_workers(pipeline))
    info.raise_on_failed_jobs()
    summary = LoadSummary(
        load_id=info.loads_ids[-1] if info.loads_ids else None,
        finished_pending=finished,
        discarded_pending=discarded,
    )
    if normalized is not None:
        summary.rows = {
            t: n for t, n in sorted(normalized.row_counts.items()) if not t.startswith("_dlt")
        }
    if summary.load_id is not None:
        _read_lineage(pipeline, summary)
    if transform:
        from transforms import apply_transforms

        apply_transforms(pipeline)
    summary.seconds = time.monotonic() - started
    return summary


def _read_lineage(pipeline: Pipeline, summary: LoadSummary) -> None:
    table = LINEAGE_TABLE
    with pipeline.sql_client() as client:
        name = client.make_qualified_table_name(table)
        rows = client.execute_sql(
            "select count(*), sum(attempts),"
            " min(case when period is null then window_from end),"
            " max(case when period is null then window_to end)"
            f" from {name} where _dlt_load_id = %s",
            summary.load_id,
        )
    if rows:
        count, attempts, first, last = rows[0]
        summary.requests = int(attempts or 0)
        summary.retried = int(attempts or 0) - int(count or 0)
        summary.first_day, summary.last_day = first, last
