"""How a report's rows replace what was loaded: merge scopes, placeholder rows, table hints.

Re-fetched days replace what was loaded for them. Each table's merge is scoped to the account
and the days of the run (`destination_scope`), so rows whose dimension vanished and days that
became empty are deleted too; when a table gets no row at all, one placeholder row (empty key)
carries the merge and is filtered out by `source_filter` before it reaches the table. Per-group
tables merge the same way, so a group that had no chats in the re-fetched days loses its rows
for them; when the groups are listed, the merge is scoped to the groups loaded too, each over
its own days (see `cursors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dlt
from dlt.common.schema.typing import TWriteDispositionConfig

from .flatten import Row
from .reports import GROUP_KEY, Kind, ReportSpec, TableSpec, primary_key, table_columns
from .settings import Settings
from .windows import Window


def _sql_text(value: str) -> str:
    # single quotes doubled for SQL; braces doubled because dlt formats the condition
    return value.replace("'", "''").replace("{", "{{").replace("}", "}}")


Replaced = Sequence[tuple[Window, Sequence[int]]]
"""The days a run replaces: (days, groups) pairs, no groups meaning all of the account's."""


def write_disposition(
    spec: ReportSpec, table: TableSpec, settings: Settings, replaced: Replaced
) -> TWriteDispositionConfig:
    """Merge settings of a table for a run that loads the days in `replaced`.

    Per-period tables merge by key. Day tables replace the account's rows of the run's days,
    and of a per-group table whose groups are listed only the rows of the groups loaded for
    those days: a group left out of the list keeps its rows. A refresh replaces every row of
    the account, whatever its day, group or period.
    """
    account = f"{{table}}.account_id = '{_sql_text(settings.account_id)}'"
    if spec.kind is Kind.PERIOD and not settings.refresh:
        return {"disposition": "merge", "strategy": "delete-insert"}
    scope = account
    if not settings.refresh:
        scope += " AND " + " OR ".join(_days_scope(window, groups) for window, groups in replaced)
        if len(replaced) > 1:
            scope = f"{account} AND ({scope.removeprefix(account + ' AND ')})"
    config: dict[str, Any] = {
        "disposition": "merge",
        "strategy": "delete-insert",
        "destination_scope": scope,
    }
    if table.merge_key:
        config["source_filter"] = f"{table.merge_key} <> ''"
    return config  # type: ignore[return-value]


def _days_scope(window: Window, groups: Sequence[int]) -> str:
    days = (
        f"{{table}}.report_date >= DATE '{window.first}'"
        f" AND {{table}}.report_date <= DATE '{window.last}'"
    )
    if not groups:
        return days
    listed = ", ".join(f"'{g}'" for g in groups)  # group ids are whole numbers
    return f"({{table}}.{GROUP_KEY} IN ({listed}) AND {days})"


def placeholder_row(table: TableSpec, settings: Settings, window: Window) -> Row:
    """A row with an empty key: it carries the merge of a table that got no rows."""
    row: Row = {"account_id": settings.account_id, "report_date": window.first}
    if table.grouped:
        row[GROUP_KEY] = ""
    row.update({d: "" for d in table.dimensions})
    return row


def table_hints(spec: ReportSpec, table: TableSpec, settings: Settings, replaced: Replaced) -> Any:
    """The dlt hints of a table for a run that loads the days in `replaced`."""
    return dlt.mark.make_hints(
        table_name=table.name,
        write_disposition=write_disposition(spec, table, settings, replaced),
        primary_key=primary_key(table, spec, settings.hourly),
        columns=table_columns(table, spec, settings.hourly),
    )
