"""Materialize one shard partition of the Dagster report assets in this process, and SIGKILL it.

Usage: python -m tests.e2e.dagster_crash POINT COUNT PARTITION
  POINT and COUNT as for `tests.e2e.crash_driver` (extract, normalize, load). The accounts,
  the shards and the emulator come from the environment, as the Dagster tests configure them.
"""

from __future__ import annotations

import sys

from tests.e2e.crash_driver import arm


def materialize_partition(partition: str) -> None:
    """Run the report assets for one shard partition, as a scheduled Dagster run would."""
    from dagster import DagsterInstance, materialize

    from pipelines.accounts import shard_count
    from pipelines.orchestration.loads import report_assets
    from pipelines.orchestration.partitions import shard_partitions
    from pipelines.orchestration.warehouse import LiveChatWarehouse

    materialize(
        [report_assets(shard_partitions(shard_count()))],
        partition_key=partition,
        resources={"warehouse": LiveChatWarehouse(destination="duckdb")},
        instance=DagsterInstance.ephemeral(),
    )


def main() -> None:
    point, count, partition = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    arm(point, count)
    materialize_partition(partition)
    raise SystemExit("the crash point was never reached")


if __name__ == "__main__":
    main()
