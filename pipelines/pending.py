"""Whether packages an interrupted run left are older than what the dataset holds since.

A shard's pipeline that was interrupted keeps its package until that shard number runs again.
Meanwhile its accounts may have loaded through other pipelines (after a change of `shards`, or
under another pipeline name): finishing the old package then would merge days fetched before
over the same days fetched since, and make its cursors the accounts' latest, so that the run
would ask for every day since again. Only finished loads count, as for cursors and meanings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlt.common.destination.exceptions import DestinationUndefinedEntity
from dlt.pipeline.pipeline import Pipeline

from pipelines.destination import LOADS_TABLE
from sources.livechat.meaning import ACCOUNTS_TABLE


def newer_finished_load(pipeline: Pipeline, load_ids: Sequence[str]) -> str | None:
    """Return a finished load of the dataset newer than the oldest of `load_ids`, or None.

    A load counts when it recorded accounts (`account_loads`): every load of this source does.
    Load ids are dlt's creation times, so they order as text.
    """
    if not load_ids:
        return None
    oldest = min(load_ids)
    try:
        with pipeline.sql_client() as client:
            return _newer(client, oldest)
    except DestinationUndefinedEntity:  # no dataset, or no account_loads yet: nothing newer
        return None


def _newer(client: Any, oldest: str) -> str | None:
    accounts = client.make_qualified_table_name(ACCOUNTS_TABLE)
    loads = client.make_qualified_table_name(LOADS_TABLE)
    rows = client.execute_sql(
        f"select max(l.load_id) from {loads} as l inner join {accounts} as a"
        " on a._dlt_load_id = l.load_id where l.status = 0 and l.load_id > %s",
        oldest,
    )
    return str(rows[0][0]) if rows and rows[0][0] is not None else None
