"""What a materialization says about its table: the real name, and how many rows it holds now."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from dagster import MetadataValue


def sql_literal(value: str) -> str:
    """A string as an SQL literal (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def table_metadata(
    client: Any,
    dataset: str,
    table: str,
    accounts: Collection[str] | None = None,
) -> dict[str, Any]:
    """The standard table metadata of one table or view of the dataset, read now.

    Args:
        client: dlt's SQL client on the dataset (`LiveChatWarehouse.sql_client`).
        dataset: The dataset as the destination stores it.
        table: The table or view.
        accounts: The account ids of the run's partition (a shard): their rows are its
            `dagster/partition_row_count`. None for a table without `account_id`.

    Returns:
        `dagster/table_name` (`<dataset>.<table>`), `dagster/row_count` and, with `accounts`,
        `dagster/partition_row_count`.
    """
    qualified = client.make_qualified_table_name(table)
    total = _count(client, f"select count(*) from {qualified}")
    mine = None
    if accounts is not None:
        listed = ", ".join(sql_literal(a) for a in sorted(accounts)) or "null"
        mine = _count(client, f"select count(*) from {qualified} where account_id in ({listed})")
    metadata: dict[str, Any] = {
        "dagster/table_name": MetadataValue.text(f"{dataset}.{table}"),
        "dagster/row_count": MetadataValue.int(total),
    }
    if mine is not None:
        metadata["dagster/partition_row_count"] = MetadataValue.int(mine)
    return metadata


def _count(client: Any, sql: str) -> int:
    rows: Sequence[Sequence[Any]] = client.execute_sql(sql) or [(0,)]
    return int(rows[0][0])
