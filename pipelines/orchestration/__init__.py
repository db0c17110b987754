"""A Dagster code location for many accounts: dlt assets per report, the models downstream.

`definitions.py` is the module Dagster loads (`dagster dev -m pipelines.orchestration.definitions`);
it needs the `dagster` extra. The pieces:

- `partitions.py`: one partition per shard (`shard_0`, ...).
- `loads.py`: one asset per report (dagster-dlt), partitioned by shard; a run of one partition
  loads that shard's accounts through its pipeline and staging dataset, as the command does.
- `models.py`: the transforms' models as assets (dagster-dbt), downstream of the reports.
- `warehouse.py`: where the data goes (destination, dataset, DuckDB file), as a resource.
- `jobs.py`: the jobs and the daily schedules (one load run per shard, then the transform).
- `dagster.yaml`: the instance settings that hold the writers' pool to one run at a time.
"""
