"""The jobs and the daily schedules: one load run per account, then the views."""

from __future__ import annotations

import datetime as dt

from dagster import (
    AssetsDefinition,
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

LOAD_JOB = "livechat_accounts"
VIEWS_JOB = "livechat_views"
# 06:15 UTC, as the README's cron example; the views half an hour later (on DuckDB they queue
# behind the loads in the pool anyway).
LOAD_CRON = "15 6 * * *"
VIEWS_CRON = "45 6 * * *"


def load_job(reports: AssetsDefinition) -> UnresolvedAssetJobDefinition:
    """The job that loads one account (a partition) into every report asset."""
    return define_asset_job(LOAD_JOB, selection=[reports], partitions_def=reports.partitions_def)


def views_job(views: AssetsDefinition) -> UnresolvedAssetJobDefinition:
    """The job that builds and tests the views once over all accounts' tables."""
    return define_asset_job(VIEWS_JOB, selection=[views])


def daily_loads(
    job: UnresolvedAssetJobDefinition, partitions: StaticPartitionsDefinition
) -> ScheduleDefinition:
    """The daily schedule: one run per configured account, each its own partition."""

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
            RunRequest(run_key=f"{name}-{day}", partition_key=name)
            for name in partitions.get_partition_keys()
        ]

    return livechat_accounts_daily


def daily_views(job: UnresolvedAssetJobDefinition) -> ScheduleDefinition:
    """The daily schedule of the views."""
    return ScheduleDefinition(
        name="livechat_views_daily", job=job, cron_schedule=VIEWS_CRON, execution_timezone="UTC"
    )
