"""Read what an account's rows in a dataset mean, from the dataset itself, before any request.

The record is the dataset's `account_loads` table: each finished load of an account appends a
row with its timezone, distribution and filters, committed with the load's rows, so every writer
of the dataset sees it, whatever its pipeline name (the command, another `--pipeline-name`, an
account section, Dagster). A row counts only once its load is in `_dlt_loads`: a load that
stopped part way recorded nothing yet (the next run finishes or redoes it).

Datasets loaded before that table existed have the meaning only in the state of the pipeline
that loaded them; for an account without a row, that state is the record (this pipeline's
first, then any other pipeline's that loaded the same account into the dataset), until the
account's next load writes its row.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

from dlt.common.destination.exceptions import DestinationUndefinedEntity
from dlt.pipeline.pipeline import Pipeline
from dlt.pipeline.state_sync import load_pipeline_state_from_destination

from pipelines.destination import LOADS_TABLE
from sources.livechat.meaning import ACCOUNTS_TABLE, STATE_KEY

logger = logging.getLogger("livechat_reports")

STATE_TABLE = "_dlt_pipeline_state"
SOURCE_NAME = "livechat_reports"


def recorded_meanings(
    pipeline: Pipeline, account_ids: Iterable[str], own: Mapping[str, Any] | None = None
) -> dict[str, Mapping[str, Any]]:
    """Return the meaning each account's rows in the pipeline's dataset were loaded with.

    One connection and one query per 500 accounts, whatever their number: a shard's accounts
    are checked before any request, and one query per account cost more than their requests.

    Args:
        pipeline: A pipeline writing the dataset (its name does not matter).
        account_ids: The accounts.
        own: The meaning recorded in this pipeline's own (synced) state, if any: the record
            of the account it names when the dataset has no row of that account.

    Returns:
        Per account found: the latest `account_loads` row of a finished load of the account,
        else `own`, else the newest meaning another pipeline's state recorded for it. An
        account found nowhere (new, or the dataset is not created yet) is left out.
    """
    wanted = sorted(set(account_ids))
    found: dict[str, Mapping[str, Any]] = {}
    if not wanted or _missing_duckdb_file(pipeline):
        return _with_own(found, wanted, own)
    try:
        with pipeline.sql_client() as client:
            found.update(_latest_rows(client, wanted))
            found = _with_own(found, wanted, own)
            missing = [a for a in wanted if a not in found]
            names = _pipeline_names(client, pipeline.pipeline_name) if missing else []
        if names:
            with pipeline.destination_client() as job_client:
                states = legacy_source_states(job_client, names)
            found.update({a: dict(states[a][STATE_KEY]) for a in missing if a in states})
    except DestinationUndefinedEntity:  # no dataset yet
        pass
    return _with_own(found, wanted, own)


def _with_own(
    found: dict[str, Mapping[str, Any]], wanted: list[str], own: Mapping[str, Any] | None
) -> dict[str, Mapping[str, Any]]:
    """`found`, with `own` for the account it names when nothing else was found for it."""
    account_id = str(own.get("account_id")) if own else None
    if own and account_id in wanted and account_id not in found:
        found[account_id] = own
    return found


def _missing_duckdb_file(pipeline: Pipeline) -> bool:
    if pipeline.destination is None or pipeline.destination.destination_name != "duckdb":
        return False
    database = getattr(pipeline.destination_client().config.credentials, "database", None)
    return isinstance(database, str) and not os.path.exists(database)


def _latest_rows(client: Any, account_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The latest `account_loads` row of a finished load of each account, 500 at a time."""
    accounts = client.make_qualified_table_name(ACCOUNTS_TABLE)
    loads = client.make_qualified_table_name(LOADS_TABLE)
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(account_ids), 500):
        chunk = account_ids[start : start + 500]
        try:
            rows = client.execute_sql(
                "select account_id, timezone, distribution, filters from ("
                " select a.account_id, a.timezone, a.distribution, a.filters, row_number() over"
                " (partition by a.account_id order by l.inserted_at desc, a._dlt_load_id desc)"
                f" as recency from {accounts} as a inner join {loads} as l"
                " on l.load_id = a._dlt_load_id"
                f" where l.status = 0 and a.account_id in ({', '.join(['%s'] * len(chunk))})"
                ") as ranked where recency = 1",
                *chunk,
            )
        except DestinationUndefinedEntity:  # loaded before the table existed, or never
            return found
        for account_id, timezone, distribution, filters in rows or []:
            found[str(account_id)] = {
                "account_id": str(account_id),
                "timezone": timezone,
                "distribution": distribution,
                "filters": filters,
            }
    return found


def _pipeline_names(client: Any, pipeline_name: str) -> list[str]:
    """Return the pipelines with a state of a finished load: this one first, then the newest."""
    states = client.make_qualified_table_name(STATE_TABLE)
    loads = client.make_qualified_table_name(LOADS_TABLE)
    try:
        rows = client.execute_sql(
            f"select s.pipeline_name, max(s.created_at) from {states} as s"
            f" inner join {loads} as l on l.load_id = s._dlt_load_id where l.status = 0"
            " group by s.pipeline_name"
        )
    except DestinationUndefinedEntity:
        return []
    names = [name for name, _ in sorted(rows, key=lambda r: r[1], reverse=True)]
    if pipeline_name in names:
        names.remove(pipeline_name)
        names.insert(0, pipeline_name)
    return names


def legacy_source_states(job_client: Any, names: list[str]) -> dict[str, dict[str, Any]]:
    """Return, per account, the source state the first of pipelines `names` recorded for it.

    Before the dataset recorded meanings and cursors per account (`account_loads`,
    `account_cursors`), a pipeline loaded one account and kept both in its dlt state: the
    account is the one its recorded meaning names.
    """
    found: dict[str, dict[str, Any]] = {}
    for name in names:
        state = load_pipeline_state_from_destination(name, job_client)
        source = (state or {}).get("sources", {}).get(SOURCE_NAME, {})
        meaning = source.get(STATE_KEY)
        if meaning and meaning.get("account_id") and meaning["account_id"] not in found:
            logger.debug("state of account %s from pipeline %s", meaning["account_id"], name)
            found[str(meaning["account_id"])] = source
    return found


def other_pipelines(pipeline: Pipeline) -> list[str]:
    """Return the pipelines that finished a load into the dataset: this one first, newest next."""
    if _missing_duckdb_file(pipeline):
        return []
    try:
        with pipeline.sql_client() as client:
            return _pipeline_names(client, pipeline.pipeline_name)
    except DestinationUndefinedEntity:
        return []
