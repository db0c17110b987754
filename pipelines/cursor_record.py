"""Read each account's cursors from the dataset, whatever pipeline (shard) loaded it before.

Every load records the cursors of the accounts it loaded in `account_cursors` (one row per
account and report, committed with the load's rows); only rows of finished loads count. An
account without a row was loaded by an older version, which kept its cursors in the dlt state
of the pipeline that loaded it (one pipeline per account): that state is read once, and the
account's next load records its cursors in the table. An account found in neither is new and
loads from its `start_date`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from dlt.common.destination.exceptions import DestinationUndefinedEntity
from dlt.pipeline.pipeline import Pipeline

from pipelines.destination import LOADS_TABLE
from pipelines.meaning_record import legacy_source_states, other_pipelines
from sources.livechat.cursors import CURSORS_TABLE, state_of

logger = logging.getLogger("livechat_reports")

Cursors = dict[str, dict[str, dict[str, Any]]]
"""Account id -> report -> cursor state."""


def recorded_cursors(pipeline: Pipeline, account_ids: Iterable[str]) -> Cursors:
    """Return the cursors of `account_ids` recorded in the pipeline's dataset.

    Call after the pipeline is synced with its destination and has finished the packages an
    interrupted run left (so its own last load counts).
    """
    wanted = sorted(set(account_ids))
    if not wanted:
        return {}
    try:
        with pipeline.sql_client() as client:
            found = _table_cursors(client, wanted)
    except DestinationUndefinedEntity:  # no dataset yet: every account is new
        return {}
    missing = [a for a in wanted if a not in found]
    if missing:
        found.update(_legacy_cursors(pipeline, missing))
    return found


def _table_cursors(client: Any, account_ids: list[str]) -> Cursors:
    cursors = client.make_qualified_table_name(CURSORS_TABLE)
    loads = client.make_qualified_table_name(LOADS_TABLE)
    found: Cursors = {}
    for start in range(0, len(account_ids), 500):
        chunk = account_ids[start : start + 500]
        try:
            rows = client.execute_sql(
                "select c.account_id, c.report, c.last_loaded_day, c.group_last_loaded_days"
                f" from {cursors} as c inner join {loads} as l on l.load_id = c._dlt_load_id"
                f" where l.status = 0 and c.account_id in ({', '.join(['%s'] * len(chunk))})",
                *chunk,
            )
        except DestinationUndefinedEntity:  # loaded before the table existed, or never
            return found
        for account_id, report, last, group_days in rows:
            found.setdefault(account_id, {})[report] = state_of(last, group_days)
    return found


def _legacy_cursors(pipeline: Pipeline, account_ids: list[str]) -> Cursors:
    names = other_pipelines(pipeline)
    if not names:
        return {}
    with pipeline.destination_client() as job_client:
        states = legacy_source_states(job_client, names)
    found: Cursors = {}
    for account_id in account_ids:
        resources = states.get(account_id, {}).get("resources", {})
        cursors = {name: dict(state) for name, state in resources.items() if state}
        if cursors:
            logger.info("cursors of account %s taken from its former pipeline", account_id)
            found[account_id] = cursors
    return found
