"""When the views job runs: after loads, or when the package or the loaded columns changed.

The models are views: they read the rows at query time, so new rows need no rebuild, but the
package's tests (the checks on the reports and models) must see them, and a changed package or
a new column needs the views built again. The sensor asks for one run of the views job when
either changed since the run it last asked for, with `transforms/fingerprint.py`'s digest (what
`livechat-reports load` uses to skip unchanged builds) and the latest load's materialization.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from transforms import PROJECT_DIR
from transforms.fingerprint import fingerprint
from transforms.tables import LOADS_TABLE

from .loads import KEY_PREFIX
from .warehouse import LiveChatWarehouse

SENSOR = "livechat_views_when_changed"
# Every load writes `_dlt_loads`: its latest materialization is the latest load.
LOADS_ASSET = AssetKey([KEY_PREFIX, LOADS_TABLE])


def dataset_columns(client: Any) -> list[tuple[str, str, str]]:
    """(table, column, type) of every table and view column in the dataset."""
    rows = client.execute_sql(
        "select table_name, column_name, data_type from information_schema.columns"
        " where table_schema = %s",
        client.dataset_name,
    )
    return [(str(t), str(c), str(d)) for t, c, d in rows or []]


def dbt_versions(destination: str) -> list[str]:
    """The versions of dbt and the destination's adapter, which render the models."""
    found = []
    for package in ("dbt-core", f"dbt-{destination}"):
        try:
            found.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            found.append(f"{package} missing")
    return found


def views_fingerprint(warehouse: LiveChatWarehouse) -> str:
    """The digest of the package's files, the loaded tables' columns and dbt's versions.

    The views themselves are left out (their columns follow from the rest), so building
    them does not change it.
    """
    with warehouse.sql_client() as client:
        views = {
            str(row[0])
            for row in client.execute_sql(
                "select table_name from information_schema.views where table_schema = %s",
                client.dataset_name,
            )
            or []
        }
        columns = [c for c in dataset_columns(client) if c[0] not in views]
    return fingerprint(PROJECT_DIR, columns, dbt_versions(warehouse.destination))


def views_sensor(
    job: UnresolvedAssetJobDefinition, interval_seconds: int = 300
) -> SensorDefinition:
    """The sensor that runs the views job after loads and after the package or columns changed.

    Args:
        job: The views job.
        interval_seconds: How often it looks (Dagster's `minimum_interval_seconds`).
    """

    @sensor(
        name=SENSOR,
        job=job,
        minimum_interval_seconds=interval_seconds,
        default_status=DefaultSensorStatus.RUNNING,
        description="Runs the views job after loads, and when the dbt package or the loaded"
        " tables' columns changed (not on a blind daily schedule).",
    )
    def livechat_views_when_changed(
        context: SensorEvaluationContext, warehouse: LiveChatWarehouse
    ) -> RunRequest | SkipReason:
        latest = context.instance.get_latest_materialization_event(LOADS_ASSET)
        if latest is None:
            return SkipReason("No load has run yet: the views wait for the first one.")
        digest = views_fingerprint(warehouse)
        load = f"{latest.run_id}@{latest.timestamp}"
        state = {"fingerprint": digest, "load": load}
        last = json.loads(context.cursor) if context.cursor else {}
        if last == state:
            return SkipReason(
                "No load since the last views run, and the package and the"
                " loaded columns are as then."
            )
        why = []
        if last.get("load") != load:
            why.append("a load ran")
        if last.get("fingerprint") != digest:
            why.append("the package or the loaded columns changed")
        context.update_cursor(json.dumps(state))
        return RunRequest(
            run_key=f"views-{digest[:16]}-{load}",
            tags={"livechat/why": " and ".join(why)},
        )

    return livechat_views_when_changed
