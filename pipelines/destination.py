"""What the destination can tell before and after a load: can it be opened, what a load left."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from dlt.common.destination.exceptions import SqlClientNotAvailable
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.pipeline.pipeline import Pipeline

LOADS_TABLE = "_dlt_loads"
logger = logging.getLogger("livechat_reports")


class DestinationUnusable(Exception):
    """The destination could not be opened before the load began; nothing was requested.

    The reason is the exception this one is raised from.

    Attributes:
        destination: The destination's name, like `duckdb`.
    """

    def __init__(self, destination: str) -> None:
        self.destination = destination
        super().__init__(f"Cannot open the destination `{destination}`")


def probe_destination(pipeline: Pipeline) -> None:
    """Open a connection to the destination and close it again, before anything else happens.

    A DuckDB file that is locked by another program, on a read-only file system, in a missing
    directory, a directory itself or not a DuckDB database fails here, before any API request
    and before the packages of an interrupted run are touched (a failure while finishing those
    would discard them). Destinations without an SQL client are not checked.

    Raises:
        DestinationUnusable: From the reason the connection failed.
    """
    name = pipeline.destination.destination_name if pipeline.destination else "none"
    try:
        client = pipeline.sql_client()
    except SqlClientNotAvailable:
        return
    except Exception as e:
        raise DestinationUnusable(name) from e
    try:
        with client:
            pass
    except Exception as e:
        raise DestinationUnusable(name) from e


@dataclass(frozen=True)
class LoadFootprint:
    """What one load id left in the destination.

    Attributes:
        load_id: The load package's id.
        rows: Tables of the package that hold rows of this load, with how many.
        without_rows: Tables of the package that hold none.
        recorded: Whether `_dlt_loads` records the load as done (only then is its state used).
    """

    load_id: str
    rows: dict[str, int] = field(default_factory=dict)
    without_rows: list[str] = field(default_factory=list)
    recorded: bool = False


def package_tables(pipeline: Pipeline, load_id: str) -> list[str]:
    """Return the data tables a load package writes (dlt's own tables left out), sorted."""
    try:
        info = pipeline.get_load_package_info(load_id)
        names = {job.job_file_info.table_name for jobs in info.jobs.values() for job in jobs}
    except Exception:
        names = (
            set(pipeline.default_schema.data_table_names())
            if pipeline.default_schema_name
            else set()
        )
    return sorted(n for n in names if not n.startswith("_dlt"))


def load_footprint(pipeline: Pipeline, load_id: str) -> LoadFootprint:
    """Count, per table of the package, the destination rows stamped with `load_id`.

    Raises:
        Exception: Whatever opening or querying the destination raised; the caller says that
            the destination could not be inspected.
    """
    tables = package_tables(pipeline, load_id)
    rows: dict[str, int] = {}
    without: list[str] = []
    with pipeline.sql_client() as client:
        for table in tables:
            try:
                result = client.execute_sql(
                    f"select count(*) from {client.make_qualified_table_name(table)}"
                    " where _dlt_load_id = %s",
                    load_id,
                )
                count = int(result[0][0]) if result else 0
            except DatabaseUndefinedRelation:
                count = 0
            if count:
                rows[table] = count
            else:
                without.append(table)
        try:
            result = client.execute_sql(
                f"select count(*) from {client.make_qualified_table_name(LOADS_TABLE)}"
                " where load_id = %s",
                load_id,
            )
            recorded = bool(result and result[0][0])
        except DatabaseUndefinedRelation:
            recorded = False
    return LoadFootprint(load_id=load_id, rows=rows, without_rows=without, recorded=recorded)


@contextmanager
def held_open(database: str | None) -> Iterator[None]:
    """Keep a DuckDB file open meanwhile, so that dlt's connections share one open database.

    dlt opens the file for each load job and closes it after, when no other connection holds
    it: every open reads the whole catalog (each dataset's tables, and with many accounts
    their staging datasets) and every close checkpoints. DuckDB keeps one database per file and
    process while any connection holds it, so with this one held the jobs' opens are cheap (an
    incremental run into a file of ten datasets: 5.0 s before, 0.8 s with it). What the jobs
    write is checkpointed as they commit (`DUCKDB_CHECKPOINT_THRESHOLD` in
    `pipelines.livechat_reports`), not kept in memory until the file is closed.

    Args:
        database: The DuckDB file's path; None (another destination) holds nothing.
    """
    if database is None:
        yield
        return
    import duckdb

    try:
        keeper = duckdb.connect(database)
    except duckdb.Error:
        # dlt's own connection fails the same way, and its error is the one reported
        yield
        return
    try:
        yield
    finally:
        try:
            keeper.close()
        except duckdb.Error as error:
            # What was committed is in the file's write-ahead log, which the next open replays.
            logger.warning("Closing %s failed (%s); the next run replays its log", database, error)
