"""The code location: `dagster dev -m pipelines.orchestration.definitions` loads `defs`.

The partitions are the account sections configured when the location loads (`.dlt/secrets.toml`
in the current directory, or `SOURCES__LIVECHAT__ACCOUNTS__<NAME>__...` variables); reload the
location after adding an account.
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import Definitions

from pipelines.accounts import configured_names

from .jobs import daily_loads, daily_views, load_job, views_job
from .loads import account_partitions, report_assets
from .views import dbt_resource, view_assets
from .warehouse import LiveChatWarehouse


def build_definitions(
    accounts: Sequence[str] | None = None, warehouse: LiveChatWarehouse | None = None
) -> Definitions:
    """Build the code location.

    Args:
        accounts: The partitions (account section names); default the configured sections.
        warehouse: Where the data goes; default the command's defaults (`livechat.duckdb`).
    """
    partitions = account_partitions(configured_names() if accounts is None else accounts)
    reports = report_assets(partitions)
    views = view_assets()
    loads, rebuild = load_job(reports), views_job(views)
    return Definitions(
        assets=[reports, views],
        jobs=[loads, rebuild],
        schedules=[daily_loads(loads, partitions), daily_views(rebuild)],
        resources={
            "dbt": dbt_resource(),
            "warehouse": warehouse or LiveChatWarehouse(),
        },
    )


defs = build_definitions()
