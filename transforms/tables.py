"""The loaded tables the models read, with the columns the source declares for them.

The package's sources file (models/staging/_livechat__sources.yml) declares the same tables and
columns; a test keeps the two equal, so a table not loaded yet reads as an empty relation with
exactly the columns a load would give it.
"""

from __future__ import annotations

from sources.livechat.lineage import LINEAGE_COLUMNS, LINEAGE_TABLE
from sources.livechat.meaning import ACCOUNTS_COLUMNS, ACCOUNTS_TABLE
from sources.livechat.reports import every_report, table_columns

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


def report_tables() -> dict[str, dict[str, str]]:
    """Return every table the source loads, with its declared column types.

    The lineage table and the per-group tables (`<table>_by_group`) are included.
    """
    tables: dict[str, dict[str, str]] = {}
    for spec in every_report():
        for table in spec.tables:
            columns = table_columns(table, spec, hourly=False)
            tables[table.name] = {n: str(c["data_type"]) for n, c in columns.items()}
    tables[LINEAGE_TABLE] = {n: str(c["data_type"]) for n, c in LINEAGE_COLUMNS.items()}
    return {name: {**columns, **DLT_COLUMNS} for name, columns in sorted(tables.items())}


def account_tables() -> dict[str, dict[str, str]]:
    """Return the table every load appends its account's row to (`account_loads`)."""
    columns = {n: str(c["data_type"]) for n, c in ACCOUNTS_COLUMNS.items()}
    return {ACCOUNTS_TABLE: {**columns, **DLT_COLUMNS}}


def known_tables() -> dict[str, dict[str, str]]:
    """Return every table a model may name: reports, the accounts' loads, dlt's loads."""
    return {**report_tables(), **account_tables(), LOADS_TABLE: LOADS_COLUMNS}
