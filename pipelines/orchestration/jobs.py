"""The jobs and the daily schedule of the loads (one run per shard); the views run by sensor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from dagster import (
    AssetsDefinition,
    PartitionedConfig,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    StaticPartitionsDefinition,
    define_asset_job,
    schedule,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from .partitions import shard_of_key

LOAD_JOB = "livechat_accounts"
# The transform's job and schedule keep the names users schedule and launch by.
TRANSFORM_JOB = "livechat_views"
# 06:15 UTC, as the README's cron example; the views run after the loads (sensors.py).
LOAD_CRON = "15 6 * * *"

ShardTags = Callable[[int], Mapping[str, str]]


def load_job(
    reports: AssetsDefinition,
    partitions: StaticPartitionsDefinition,
    shard_tags: ShardTags | None = None,
) -> UnresolvedAssetJobDefinition:
    """The job that loads one shard (a partition) into every report asset.

    Args:
        reports: The report assets.
        partitions: Their partitions, one per shard.
        shard_tags: The run tags of each shard's runs (scheduled, launched or backfilled),
            such as `dagster-k8s/config` for the pod of a shard that needs more memory.
    """
    tags = shard_tags or (lambda shard: {})
    return define_asset_job(
        LOAD_JOB,
        selection=[reports],
        partitions_def=partitions,
        config=PartitionedConfig(
            partitions,
            run_config_for_partition_key_fn=lambda key: {},  # the daily run: LoadConfig's defaults
            tags_for_partition_key_fn=lambda key: dict(tags(shard_of_key(key))),
        ),
    )


def transform_job(models: AssetsDefinition) -> UnresolvedAssetJobDefinition:
    """The job that builds and tests the models once over all accounts' tables."""
    return define_asset_job(TRANSFORM_JOB, selection=[models])


def daily_loads(
    job: UnresolvedAssetJobDefinition, partitions: StaticPartitionsDefinition
) -> ScheduleDefinition:
    """The daily schedule: one run per shard, each its own partition."""

    @schedule(
        name="livechat_accounts_daily",
        job=job,
        cron_schedule=LOAD_CRON,
        execution_timezone="UTC",
    )
    def livechat_accounts_daily(context: ScheduleEvaluationContext) -> list[RunRequest]:
        tick = context.scheduled_execution_time or dt.datetime.now(dt.timezone.utc)
        day = tick.date().isoformat()
        return [
            RunRequest(run_key=f"{key}-{day}", partition_key=key)
            for key in partitions.get_partition_keys()
        ]

    return livechat_accounts_daily
