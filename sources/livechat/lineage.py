"""The lineage table: one row per API request a load made, appended with every load."""

from __future__ import annotations

from typing import Any

import dlt

from .client import Fetched
from .flatten import Row
from .meaning import canonical_filters

LINEAGE_TABLE = "report_requests"

LINEAGE_COLUMNS: dict[str, Any] = {
    name: {"data_type": data_type, "nullable": True}
    for name, data_type in (
        ("account_id", "text"),
        ("report", "text"),
        ("table_name", "text"),
        ("window_from", "date"),
        ("window_to", "date"),
        ("period", "text"),
        ("timezone", "text"),
        ("distribution", "text"),
        ("filters", "text"),
        ("group_id", "text"),
        ("page", "bigint"),
        ("http_status", "bigint"),
        ("attempts", "bigint"),
        ("duration_seconds", "double"),
        ("response_total", "double"),
        ("requested_at", "timestamp"),
    )
}


def lineage_row(
    account_id: str,
    body: dict[str, Any],
    fetched: Fetched,
    *,
    report: str,
    table_name: str,
    window: Any,
    period: str | None,
    group: int | None,
    page: int | None,
) -> Row:
    """The lineage row of one answered request (one page of it).

    Args:
        account_id: The account asked for.
        body: The request's JSON body (its `from`/`to` are left out of the recorded filters).
        fetched: The answer and how it was obtained.
        report: The report path.
        table_name: The report's name (its main table).
        window: The days asked for.
        period: `week` or `month` for a request of a whole period, else None.
        group: The group of a per-group request, else None.
        page: The page of a paged report, else None.
    """
    total = fetched.body.get("total")
    return {
        "account_id": account_id,
        "report": report,
        "table_name": table_name,
        "window_from": window.first,
        "window_to": window.last,
        "period": period,
        "timezone": body.get("timezone"),
        "distribution": body.get("distribution"),
        "filters": canonical_filters(recorded_filters(body["filters"])),
        "group_id": None if group is None else str(group),
        "page": page,
        "http_status": fetched.status,
        "attempts": fetched.attempts,
        "duration_seconds": round(fetched.seconds, 4),
        "response_total": total
        if isinstance(total, (int, float)) and not isinstance(total, bool)
        else None,
        "requested_at": fetched.requested_at,
    }


def recorded_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """A request's filters without its time range (`from`, `to`, also under `greetings`)."""
    kept = {k: v for k, v in filters.items() if k not in ("from", "to")}
    if "greetings" in kept:
        kept["greetings"] = {k: v for k, v in kept["greetings"].items() if k not in ("from", "to")}
        kept = {k: v for k, v in kept.items() if v}
    return kept


def mark_lineage(rows: list[Row], hinted: set[str]) -> Any:
    """Route request records to the lineage table, appended with each load."""
    if LINEAGE_TABLE in hinted:
        return dlt.mark.with_table_name(rows, LINEAGE_TABLE)
    hinted.add(LINEAGE_TABLE)
    hints = dlt.mark.make_hints(
        table_name=LINEAGE_TABLE, write_disposition="append", columns=LINEAGE_COLUMNS
    )
    return dlt.mark.with_hints(rows, hints, create_table_variant=True)
