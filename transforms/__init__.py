"""Apply the SQL views in layer order (staging, intermediate, marts) through the SQL client.

Each `.sql` file is one `select` that becomes `create or replace view <file name>`. Inside it,
`{{ table('x') }}` names a loaded table, `{{ ref('y') }}` another view, and a few macros
(`{{ week_start('col') }}`, `{{ month_start('col') }}`, `{{ days_in_month('col') }}`) hold the
only date SQL that differs between engines, so the views build on DuckDB and PostgreSQL alike.
A table that was not loaded reads as an empty table with its declared columns (`tables.py`), so
every view builds from whatever is loaded. Within a layer, a view is built after the views it reads.

A file named with `{grain}` (`kpi_{grain}.sql`) is one view per grain listed in its first
line (`-- grains: weekly, monthly`); in it `{{ period_start('col') }}`, `{{ period_days('col') }}`,
`{{ period_column }}` and `{{ period }}` stand for that grain's day truncation, period length,
key column and name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlt.destinations.exceptions import DatabaseException
from dlt.pipeline.pipeline import Pipeline

from .tables import empty_relation, known_tables, report_tables

logger = logging.getLogger("livechat_reports")
LAYERS = ("staging", "intermediate", "marts")
ROOT = Path(__file__).parent
REFERENCE = re.compile(r"\{\{\s*(table|ref)\('([a-z0-9_]+)'\)\s*\}\}")
# A table reference with the alias that may follow it (an empty relation needs one on PostgreSQL).
TABLE_REFERENCE = re.compile(
    r"\{\{\s*table\('([a-z0-9_]+)'\)\s*\}\}(\s+as\s+[a-z_][a-z0-9_]*\b)?", re.IGNORECASE
)
VIEW_REFERENCE = re.compile(r"\{\{\s*ref\('([a-z0-9_]+)'\)\s*\}\}")
MACRO = re.compile(r"\{\{\s*([a-z_]+)\('([a-z0-9_.]+)'\)\s*\}\}")
GRAINS_LINE = re.compile(r"^--\s*grains:\s*(.+)$", re.MULTILINE)

# Portable across DuckDB and PostgreSQL; another engine gets its own entry here.
MACROS: dict[str, Callable[[str], str]] = {
    "week_start": lambda col: f"cast(date_trunc('week', {col}) as date)",
    "month_start": lambda col: f"cast(date_trunc('month', {col}) as date)",
    "days_in_month": lambda col: (
        f"cast(cast({col} + interval '1 month' as date) - {col} as integer)"
    ),
}


@dataclass(frozen=True)
class Grain:
    """How a templated view rolls days up: the period's name, key column, start and length."""

    period: str
    column: str
    start: Callable[[str], str]
    days: Callable[[str], str]


GRAINS: dict[str, Grain] = {
    "daily": Grain("day", "report_date", lambda col: col, lambda col: "1"),
    "weekly": Grain(
        "week", "week_start", lambda col: f"{{{{ week_start('{col}') }}}}", lambda col: "7"
    ),
    "monthly": Grain(
        "month",
        "month_start",
        lambda col: f"{{{{ month_start('{col}') }}}}",
        lambda col: f"{{{{ days_in_month('{col}') }}}}",
    ),
}


@dataclass(frozen=True)
class View:
    """One view: a `select` that becomes `create or replace view <name>`."""

    layer: str
    name: str
    sql: str

    def references(self) -> list[tuple[str, str]]:
        """The loaded tables and views this view reads, as (kind, name)."""
        return REFERENCE.findall(self.sql)


def render_grain(sql: str, grain: str) -> str:
    """Fill a grain template's placeholders for one grain."""
    spec = GRAINS[grain]
    sql = re.sub(
        r"\{\{\s*period_start\('([a-z0-9_.]+)'\)\s*\}\}", lambda m: spec.start(m.group(1)), sql
    )
    sql = re.sub(
        r"\{\{\s*period_days\('([a-z0-9_.]+)'\)\s*\}\}", lambda m: spec.days(m.group(1)), sql
    )
    sql = re.sub(r"\{\{\s*period_column\s*\}\}", spec.column, sql)
    return re.sub(r"\{\{\s*period\s*\}\}", spec.period, sql).replace("{grain}", grain)


def load_views() -> list[View]:
    """Return every view in layer order, then by dependency and name; grain templates expanded."""
    views = []
    for layer in LAYERS:
        layer_views = []
        for path in sorted((ROOT / layer).glob("*.sql")):
            sql = path.read_text(encoding="utf-8")
            if "{grain}" not in path.stem:
                layer_views.append(View(layer, path.stem, sql))
                continue
            listed = GRAINS_LINE.search(sql)
            if not listed:
                raise ValueError(f"{path.name} is a grain template without a `-- grains:` line")
            for grain in (g.strip() for g in listed.group(1).split(",")):
                name = path.stem.replace("{grain}", grain)
                layer_views.append(View(layer, name, render_grain(sql, grain)))
        views += _in_dependency_order(layer_views)
    return views


def _in_dependency_order(views: list[View]) -> list[View]:
    """Order one layer's views so that a view comes after the views of its layer it reads."""
    names = {v.name for v in views}
    placed: list[View] = []
    done: set[str] = set()
    waiting = sorted(views, key=lambda v: v.name)
    while waiting:
        ready = [
            v
            for v in waiting
            if all(n in done for k, n in v.references() if k == "ref" and n in names)
        ]
        if not ready:
            cycle = ", ".join(v.name for v in waiting)
            raise ValueError(f"these views read each other in a cycle: {cycle}")
        placed += ready
        done.update(v.name for v in ready)
        waiting = [v for v in waiting if v.name not in done]
    return placed


class NoLoadedTablesError(Exception):
    """The dataset holds none of the tables a load writes: there is nothing to build views on."""

    def __init__(self, dataset: str, where: str) -> None:
        self.dataset = dataset
        self.where = where
        super().__init__(
            f"No loaded tables were found in dataset `{dataset}` of {where}, so no views were"
            " built. Load first (`livechat-reports load`), or pass the --dataset, --destination"
            " and --duckdb-file that the load used."
        )


@dataclass(frozen=True)
class TransformResult:
    """Which views were built, which were skipped and why, and which tables had no data.

    Attributes:
        built: The views created or replaced, in build order.
        skipped: Views not built, with the reason (a table that no report loads, a missing view).
        no_data: Tables the views read that were not loaded or have no rows yet; the views
            treat them as empty, so their columns are null.
    """

    built: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    no_data: tuple[str, ...] = ()

    @property
    def note(self) -> str | None:
        """One line naming the tables without data (and any view skipped), or None."""
        parts = []
        if self.no_data:
            parts.append(
                f"No data yet for: {', '.join(self.no_data)} (the views read them as empty)."
            )
        if self.skipped:
            parts.append(f"Views skipped: {'; '.join(f'{n} {r}' for n, r in self.skipped)}.")
        return " ".join(parts) or None


def apply_transforms(
    pipeline: Pipeline, announce: Callable[[str], object] | None = logger.info
) -> TransformResult:
    """Create or replace every view; a table that was not loaded reads as an empty table.

    Args:
        pipeline: The pipeline whose dataset holds the loaded tables.
        announce: Where the one-line `note` about tables without data goes (the log by
            default; None keeps it for the caller).

    Returns:
        The views built, the views skipped with the reason, and the tables without data.

    Raises:
        NoLoadedTablesError: When the dataset holds none of the tables a load writes.
    """
    _refuse_missing_duckdb_file(pipeline)
    known = known_tables()
    views = load_views()
    built: list[str] = []
    skipped: list[tuple[str, str]] = []
    with pipeline.sql_client() as client:
        existing = _existing_tables(client)
        if not existing & set(report_tables()):
            raise NoLoadedTablesError(client.dataset_name, _where(pipeline))
        for view in views:
            missing = [
                name
                for kind, name in view.references()
                if (
                    name not in existing and name not in known
                    if kind == "table"
                    else name not in built
                )
            ]
            if missing:
                reason = f"needs {', '.join(missing)}, which no load writes and no view builds"
                skipped.append((view.name, reason))
                logger.debug("view %s skipped: %s", view.name, reason)
                continue
            _replace_view(client, view, _render(view, client, existing, known), views)
            built.append(view.name)
        no_data = _tables_without_rows(client, existing, report_tables())
    result = TransformResult(tuple(built), tuple(skipped), no_data)
    if result.note and announce is not None:
        announce(result.note)
    return result


def _render(view: View, client: Any, existing: set[str], known: dict[str, dict[str, str]]) -> str:
    """Return the view's SQL for this destination: names qualified, macros expanded."""

    def table(match: re.Match[str]) -> str:
        name, alias = match.group(1), match.group(2) or ""
        if name in existing:
            return f"{client.make_qualified_table_name(name)}{alias}"
        return f"({empty_relation(known[name])}){alias or f' as {name}'}"

    def ref(match: re.Match[str]) -> str:
        return str(client.make_qualified_table_name(match.group(1)))

    return MACRO.sub(_macro, VIEW_REFERENCE.sub(ref, TABLE_REFERENCE.sub(table, view.sql)))


def _replace_view(client: Any, view: View, body: str, views: list[View]) -> None:
    """Create or replace one view.

    PostgreSQL refuses to replace a view whose columns change type (or name, or order), as a
    new version of the views may do. Then the view is dropped, after the views of this project
    that read it (they come later in the build order and are created again), and created anew.
    A view of someone else's that reads it makes the drop fail, rather than vanish.
    """
    target = client.make_qualified_table_name(view.name)
    try:
        client.execute_sql(f"create or replace view {target} as\n{body}")
        return
    except DatabaseException as error:
        logger.debug("view %s changed shape; dropping and creating it again (%s)", view.name, error)
    readers = {view.name}
    for later in views[views.index(view) + 1 :]:
        if {n for k, n in later.references() if k == "ref"} & readers:
            readers.add(later.name)
    for name in [v.name for v in reversed(views) if v.name in readers]:
        client.execute_sql(f"drop view if exists {client.make_qualified_table_name(name)}")
    client.execute_sql(f"create view {target} as\n{body}")


def _macro(match: re.Match[str]) -> str:
    name, argument = match.groups()
    if name not in MACROS:
        raise ValueError(f"unknown SQL macro `{name}`; known: {', '.join(MACROS)}")
    return MACROS[name](argument)


def _existing_tables(client: Any) -> set[str]:
    rows = client.execute_sql(
        "select table_name from information_schema.tables where table_schema = %s",
        client.dataset_name,
    )
    return {r[0] for r in rows or []}


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
