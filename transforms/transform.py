"""Run the transforms on a pipeline's destination, or skip dbt when nothing the models read changed.

`transforms/__init__.py` re-exports these names, importing this module only when one is used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sources.livechat.exceptions import ConfigurationError, LiveChatError
from sources.livechat.reports import BY_GROUP

from .fingerprint import fingerprint
from .runner import PROJECT_DIR, Target, TransformFailed, dbt_build, missing_dbt
from .tables import known_tables, report_tables

if TYPE_CHECKING:
    from dlt.pipeline.pipeline import Pipeline

__all__ = [
    "PROJECT_DIR",
    "DbtNotInstalled",
    "NoLoadedTablesError",
    "TransformFailed",
    "TransformResult",
    "expected_tables",
    "model_names",
    "run_transforms",
]

logger = logging.getLogger("livechat_reports")
# Where the fingerprint of the models last built is kept (the pipeline's local state: it is
# dropped with the state when the pipeline writes another destination, and the models with it).
# The key's value predates the name "models"; kept, so existing pipelines do not rebuild.
FINGERPRINT_KEY = "livechat_views"


class NoLoadedTablesError(LiveChatError):
    """The dataset holds none of the tables a load writes: there is nothing to build models on."""

    def __init__(self, dataset: str, where: str) -> None:
        self.dataset = dataset
        self.where = where
        super().__init__(
            f"No loaded tables were found in dataset `{dataset}` of {where}, so no views were"
            " built. Load first (`livechat-reports load`), or pass the --dataset, --destination"
            " and --duckdb-file that the load used."
        )


class DbtNotInstalled(ConfigurationError):
    """dbt or the destination's dbt adapter is not installed, so the transforms cannot run."""


@dataclass(frozen=True)
class TransformResult:
    """What a transform did.

    Attributes:
        built: The models created or replaced (as views), in build order (empty when unchanged).
        tests: How many of the package's data and unit tests passed.
        unchanged: True when nothing the models depend on changed, so dbt did not run.
        no_data: Tables the models read that were not loaded or have no rows yet; the models
            read them as empty, so their columns are null.
    """

    built: tuple[str, ...] = ()
    tests: int = 0
    unchanged: bool = False
    no_data: tuple[str, ...] = ()

    @property
    def note(self) -> str | None:
        """One line naming the tables without data, or None."""
        if not self.no_data:
            return None
        return f"No data yet for: {', '.join(self.no_data)} (the views read them as empty)."


def model_names() -> set[str]:
    """The models of the transforms: one per model file (each built as a view)."""
    return {path.stem for path in (PROJECT_DIR / "models").rglob("*.sql")}


def run_transforms(
    pipeline: Pipeline,
    *,
    force: bool = True,
    every_test: bool | None = None,
    announce: Callable[[str], object] | None = logger.info,
) -> TransformResult:
    """Build the models with dbt and run their tests, or skip dbt when nothing changed.

    Args:
        pipeline: The pipeline whose dataset holds the loaded tables.
        force: Build even when the package and the tables' columns are as last built.
        every_test: Run every test of the package (the models' tests and the unit tests),
            not only the loaded tables' grain tests. Default: when `force` (the `transform`
            command), not when a load runs the transforms.
        announce: Where the one-line `note` about tables without data goes (the log by
            default; None keeps it for the caller).

    Returns:
        What was built and tested, or that nothing had to be.

    Raises:
        NoLoadedTablesError: When the dataset holds none of the tables a load writes.
        DbtNotInstalled: When dbt or the destination's adapter is missing.
        TransformFailed: When a model or a test failed, naming each.
    """
    _refuse_missing_duckdb_file(pipeline)
    known = known_tables()
    with pipeline.sql_client() as client:
        columns = [c for c in _dataset_columns(client) if c[0] in known]
        existing = {table for table, _, _ in columns}
        if not existing & set(report_tables()):
            raise NoLoadedTablesError(client.dataset_name, _where(pipeline))
        built = _built_models(client)
        no_data = _tables_without_rows(client, existing, expected_tables(report_tables(), existing))
    config = pipeline.destination_client().config
    destination_type = config.destination_type
    digest = fingerprint(PROJECT_DIR, columns, _versions(destination_type))
    if not force and digest == _recorded(pipeline) and model_names() <= built:
        logger.info("Views unchanged: the package and the loaded tables' columns are as built")
        return TransformResult(unchanged=True, no_data=no_data)
    reason = missing_dbt(destination_type)
    if reason is not None:
        raise DbtNotInstalled(reason)
    dataset = str(getattr(config, "dataset_name", None) or pipeline.dataset_name)
    target = Target(destination_type, config.credentials, dataset)
    work = Path(pipeline.working_dir) / "dbt"
    build = dbt_build(target, work, select_load=not (force if every_test is None else every_test))
    pipeline.set_local_state_val(FINGERPRINT_KEY, digest)
    models = model_names()
    result = TransformResult(build.models(models), build.tests(models), no_data=no_data)
    if result.note and announce is not None:
        announce(result.note)
    return result


def _recorded(pipeline: Pipeline) -> str | None:
    try:
        return str(pipeline.get_local_state_val(FINGERPRINT_KEY))
    except KeyError:
        return None


def _versions(destination_type: str) -> list[str]:
    found = []
    for package in ("dbt-core", f"dbt-{destination_type}"):
        try:
            found.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            found.append(f"{package} missing")
    return found


def _dataset_columns(client: Any) -> list[tuple[str, str, str]]:
    rows = client.execute_sql(
        "select table_name, column_name, data_type from information_schema.columns"
        " where table_schema = %s",
        client.dataset_name,
    )
    return [(str(t), str(c), str(d)) for t, c, d in rows or []]


def _built_models(client: Any) -> set[str]:
    """The views in the dataset: the models built there (and any view of the user's own)."""
    rows = client.execute_sql(
        "select table_name from information_schema.views where table_schema = %s",
        client.dataset_name,
    )
    return {str(r[0]) for r in rows or []}


# The per-group tables (`<table>_by_group`) are loaded only when the group breakdown is on.


def expected_tables(tables: Iterable[str], existing: set[str]) -> list[str]:
    """Return the tables whose absence is worth a note: the per-group ones only once any exists.

    Without the group breakdown no `_by_group` table is ever loaded, and naming them all in
    every note would say data is missing that nobody asked for.
    """
    breakdown = any(t.endswith(BY_GROUP) for t in existing)
    return [t for t in tables if breakdown or not t.endswith(BY_GROUP)]


def _tables_without_rows(client: Any, existing: set[str], tables: Iterable[str]) -> tuple[str, ...]:
    """Return the tables that were not loaded or hold no row, in name order."""
    loaded = sorted(t for t in tables if t in existing)
    with_rows: set[str] = set()
    if loaded:
        probes = " union all ".join(
            f"select '{t}' where exists (select 1 from {client.make_qualified_table_name(t)})"
            for t in loaded
        )
        with_rows = {r[0] for r in client.execute_sql(probes) or []}
    return tuple(sorted(t for t in tables if t not in with_rows))


def _where(pipeline: Pipeline) -> str:
    """Name the destination for people, without credentials."""
    destination = pipeline.destination.destination_name if pipeline.destination else "?"
    credentials = pipeline.destination_client().config.credentials
    database = getattr(credentials, "database", None)
    if destination == "duckdb":
        return f"DuckDB file `{database}`"
    host = getattr(credentials, "host", None)
    on = f" on {host}" if host else ""
    return f"{destination} database `{database}`{on}" if database else f"destination {destination}"


def _refuse_missing_duckdb_file(pipeline: Pipeline) -> None:
    """A DuckDB file that does not exist holds no tables; do not create it by connecting."""
    if pipeline.destination is None or pipeline.destination.destination_name != "duckdb":
        return
    database = getattr(pipeline.destination_client().config.credentials, "database", None)
    if isinstance(database, str) and database != ":memory:" and not Path(database).exists():
        raise NoLoadedTablesError(pipeline.dataset_name, _where(pipeline))
