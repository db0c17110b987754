"""What the loaded data says about the listed breakdown groups, for the load's summary."""

from __future__ import annotations

import logging

from dlt.pipeline.pipeline import Pipeline

from sources.livechat.directory import GROUPS_REPORT
from sources.livechat.settings import Settings

logger = logging.getLogger("livechat_reports")


def unseen_groups(pipeline: Pipeline, settings: Settings) -> tuple[int, ...]:
    """Return the listed breakdown groups that no loaded day of chats_groups gives a chat.

    Such an id is most likely a typo or a group of another license: it is asked for every
    day and stores no row. Nothing is known (and nothing returned) when the groups are found
    with chats/groups, or chats_groups was never loaded into the dataset.
    """
    listed = settings.breakdown_groups
    if not settings.grouped or listed is None:
        return ()
    table = GROUPS_REPORT.name
    if table not in pipeline.default_schema.tables:
        return ()
    try:
        with pipeline.sql_client() as client:
            name = client.make_qualified_table_name(table)
            rows = client.execute_sql(
                f"select distinct group_id from {name} where account_id = %s and chats > 0",
                settings.account_id,
            )
    except Exception as error:  # the summary goes on without this note
        logger.debug("Could not read %s for the listed groups: %s", table, error)
        return ()
    seen = {str(row[0]) for row in rows or []}
    return tuple(group for group in listed if str(group) not in seen)


def unseen_note(group: int) -> str:
    """The summary's line for a listed group that chats_groups never names."""
    return (
        f"listed group {group} has no chats in any loaded day of chats_groups: check the id"
        " (it is asked for every day, and its days without data store no row)"
    )
