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
    """Merge settings of a table for one account's run that loads the days in `replaced`."""
    return merge_of(spec, table, [(settings, replaced)])


def merge_of(
    spec: ReportSpec, table: TableSpec, loaded: Sequence[tuple[Settings, Replaced]]
) -> TWriteDispositionConfig:
    """Merge settings of a table for a run that loads, per account, the days in its `Replaced`.

    Per-period tables merge by key. Day tables replace each loaded account's rows of the days
    it loaded, and of a per-group table whose groups are listed only the rows of the groups
    loaded for those days: a group left out of the list keeps its rows. A refresh replaces
    every row of the account, whatever its day, group or period. An account the run did not
    load (it failed, or is not in the run) is never in the scope, so its rows stay as they are.

    Args:
        spec: The report.
        table: One of its tables.
        loaded: The settings of each account loaded, with the days it replaces.
    """
    refresh = any(settings.refresh for settings, _ in loaded)
    if spec.kind is Kind.PERIOD and not refresh:
        return {"disposition": "merge", "strategy": "delete-insert"}
    together: dict[str, list[str]] = {}
    for settings, replaced in loaded:
        days = "" if settings.refresh else _replaced_scope(replaced)
        together.setdefault(days, []).append(settings.account_id)
    scopes = [_account_scope(ids, days) for days, ids in together.items()]
    config: dict[str, Any] = {
        "disposition": "merge",
        "strategy": "delete-insert",
        "destination_scope": scopes[0]
        if len(scopes) == 1
        else " OR ".join(f"({scope})" for scope in scopes),
    }
    if table.merge_key:
        config["source_filter"] = f"{table.merge_key} <> ''"
    return config  # type: ignore[return-value]


def _account_scope(account_ids: Sequence[str], days: str) -> str:
    """The rows of some accounts (of their `days`, when given) that a run replaces."""
    if len(account_ids) == 1:
        scope = f"{{table}}.account_id = '{_sql_text(account_ids[0])}'"
    else:
        listed = ", ".join(f"'{_sql_text(a)}'" for a in account_ids)
        scope = f"{{table}}.account_id IN ({listed})"
    return f"{scope} AND {days}" if days else scope


def _replaced_scope(replaced: Replaced) -> str:
    """The days (and groups) of `replaced`, as one SQL condition."""
    scope = " OR ".join(_days_scope(window, groups) for window, groups in replaced)
    return f"({scope})" if len(replaced) > 1 else scope


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


def table_hints(
    spec: ReportSpec, table: TableSpec, loaded: Sequence[tuple[Settings, Replaced]]
) -> Any:
    """The dlt hints of a table for a run that loads, per account, the days in its `Replaced`.

    The accounts of one run share the distribution (it is not an account's own setting), so
    the first one's says whether the table has hours.
    """
    hourly = loaded[0][0].hourly
    return dlt.mark.make_hints(
        table_name=table.name,
        write_disposition=merge_of(spec, table, loaded),
        primary_key=primary_key(table, spec, hourly),
        columns=table_columns(table, spec, hourly),
    )
