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
from collections.abc import Mapping
from typing import Any

from dlt.common.destination.exceptions import DestinationUndefinedEntity
from dlt.pipeline.pipeline import Pipeline
from dlt.pipeline.state_sync import load_pipeline_state_from_destination

from pipelines.destination import LOADS_TABLE
from sources.livechat.meaning import ACCOUNTS_TABLE, STATE_KEY

logger = logging.getLogger("livechat_reports")

STATE_TABLE = "_dlt_pipeline_state"
SOURCE_NAME = "livechat_reports"


def recorded_meaning(
    pipeline: Pipeline, account_id: str, own: Mapping[str, Any] | None = None
) -> Mapping[str, Any] | None:
    """Return the meaning the account's rows in the pipeline's dataset were loaded with.

    Args:
        pipeline: A pipeline writing the dataset (its name does not matter).
        account_id: The account.
        own: The meaning recorded in this pipeline's own (synced) state, if any. When it names
            another account it is returned as is: this pipeline's cursors belong to that one.

    Returns:
        The latest `account_loads` row of a finished load of the account, else `own`, else
        the newest meaning another pipeline's state recorded for the account, else None (a
        new account, or a dataset not created yet).
    """
    if own and own.get("account_id") != account_id:
        return own
    if _missing_duckdb_file(pipeline):
        return own or None
    try:
        with pipeline.sql_client() as client:
            row = _latest_row(client, account_id)
            if row is not None:
                return row
            if own:
                return own
            names = _pipeline_names(client, pipeline.pipeline_name)
        if not names:
            return None
        with pipeline.destination_client() as job_client:
            return _from_states(job_client, names, account_id)
    except DestinationUndefinedEntity:  # no dataset yet
        return own or None


def _missing_duckdb_file(pipeline: Pipeline) -> bool:
    if pipeline.destination is None or pipeline.destination.destination_name != "duckdb":
        return False
    database = getattr(pipeline.destination_client().config.credentials, "database", None)
    return isinstance(database, str) and not os.path.exists(database)


def _latest_row(client: Any, account_id: str) -> dict[str, Any] | None:
    accounts = client.make_qualified_table_name(ACCOUNTS_TABLE)
    loads = client.make_qualified_table_name(LOADS_TABLE)
    try:
        rows = client.execute_sql(
            "select a.timezone, a.distribution, a.filters"
            f" from {accounts} as a inner join {loads} as l on l.load_id = a._dlt_load_id"
            " where l.status = 0 and a.account_id = %s"
            " order by l.inserted_at desc, a._dlt_load_id desc limit 1",
            account_id,
        )
    except DestinationUndefinedEntity:  # loaded before the table existed, or never
        return None
    if not rows:
        return None
    timezone, distribution, filters = rows[0]
    return {
        "account_id": account_id,
        "timezone": timezone,
        "distribution": distribution,
        "filters": filters,
    }


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


def _from_states(job_client: Any, names: list[str], account_id: str) -> Mapping[str, Any] | None:
    """Return the first meaning the states of pipelines `names` recorded for the account."""
    state = legacy_source_states(job_client, names).get(account_id)
    return dict(state[STATE_KEY]) if state else None


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
