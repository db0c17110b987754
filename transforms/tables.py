"""The loaded tables the views read, with the columns the source declares for them.

A view names a loaded table as `{{ table('x') }}`. When `x` was not loaded (its report was left
out, or has not run yet), the runner puts an empty relation with the declared columns and types
in its place, so every view still builds and its columns for that report are null.
"""

from __future__ import annotations

from collections.abc import Mapping

from sources.livechat.extract import LINEAGE_COLUMNS, LINEAGE_TABLE
from sources.livechat.reports import REPORTS, table_columns

# dlt's own columns on every row, and its table of completed loads (written last by each load).
DLT_COLUMNS = {"_dlt_load_id": "text", "_dlt_id": "text"}
LOADS_TABLE = "_dlt_loads"
LOADS_COLUMNS = {
    "load_id": "text",
    "schema_name": "text",
    "status": "bigint",
    "inserted_at": "timestamp",
    "schema_version_hash": "text",
}

# dlt data types -> the SQL types dlt creates for them on DuckDB and PostgreSQL.
SQL_TYPES = {
    "text": "varchar",
    "bigint": "bigint",
    "double": "double precision",
    "bool": "boolean",
    "date": "date",
    "timestamp": "timestamp with time zone",
    "decimal": "numeric",
}


def report_tables() -> dict[str, dict[str, str]]:
    """Return every table the source loads (lineage included) with its declared column types."""
    tables: dict[str, dict[str, str]] = {}
    for spec in REPORTS:
        for table in spec.tables:
            columns = table_columns(table, spec, hourly=False)
            tables[table.name] = {n: str(c["data_type"]) for n, c in columns.items()}
    tables[LINEAGE_TABLE] = {n: str(c["data_type"]) for n, c in LINEAGE_COLUMNS.items()}
    return {name: {**columns, **DLT_COLUMNS} for name, columns in sorted(tables.items())}


def known_tables() -> dict[str, dict[str, str]]:
    """Return the report tables and dlt's table of loads: every table a view may name."""
    return {**report_tables(), LOADS_TABLE: LOADS_COLUMNS}


def empty_relation(columns: Mapping[str, str]) -> str:
    """Return a `select` of no rows with these columns and types, for a table not loaded."""
    selected = ", ".join(f"cast(null as {SQL_TYPES[t]}) as {n}" for n, t in columns.items())
    return f"select {selected} where 1 = 0"
