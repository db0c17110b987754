"""The code location: `dagster dev -m pipelines.orchestration.definitions` loads `defs`.

The partitions are the shards configured when the location loads (`shards` under
[sources.livechat] in `.dlt/config.toml`, or `SOURCES__LIVECHAT__SHARDS`; default 1); reload the
location after changing it. The accounts of a shard are read when its run starts, so adding
an account needs no reload.
"""

from __future__ import annotations

from dagster import Definitions, ExecutorDefinition

from pipelines.accounts import shard_count

from .jobs import ShardTags, daily_loads, load_job, transform_job
from .loads import report_assets
from .models import dbt_resource, model_assets
from .partitions import shard_partitions
from .sensors import views_sensor
from .warehouse import LiveChatWarehouse


def build_definitions(
    shards: int | None = None,
    warehouse: LiveChatWarehouse | None = None,
    shard_tags: ShardTags | None = None,
    executor: ExecutorDefinition | None = None,
) -> Definitions:
    """Build the code location.

    Args:
        shards: How many shards (partitions); default `shards` under [sources.livechat].
        warehouse: Where the data goes; default the command's defaults (`livechat.duckdb`).
        shard_tags: Run tags per shard number, for every run of that shard (for example
            `dagster-k8s/config` with the resources of its pod on Kubernetes).
        executor: Where a run's step executes; default Dagster's (multiprocess). A run is one
            shard and has one step, so shards load in parallel as runs, whatever the executor.
    """
    partitions = shard_partitions(shard_count() if shards is None else shards)
    reports = report_assets(partitions)
    models = model_assets()
    loads, transform = load_job(reports, partitions, shard_tags), transform_job(models)
    return Definitions(
        assets=[reports, models],
        jobs=[loads, transform],
        schedules=[daily_loads(loads, partitions)],
        sensors=[views_sensor(transform)],
        resources={
            "dbt": dbt_resource(),
            "warehouse": warehouse or LiveChatWarehouse(),
        },
        executor=executor,
    )


defs = build_definitions()
