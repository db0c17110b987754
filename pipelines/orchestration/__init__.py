"""A Dagster code location for many accounts: dlt assets per report, dbt views downstream.

`definitions.py` is the module Dagster loads (`dagster dev -m pipelines.orchestration.definitions`);
it needs the `dagster` extra. The pieces:

- `loads.py`: one asset per report (dagster-dlt), partitioned by account section; a run of
  one partition loads that account through its own pipeline and staging dataset.
- `views.py`: the dbt package's models as assets (dagster-dbt), downstream of the reports.
- `warehouse.py`: where the data goes (destination, dataset, DuckDB file), as a resource.
- `jobs.py`: the jobs, the daily schedules and the concurrency pool.
- `dagster.yaml`: the instance settings that hold the pool to one run at a time.
"""
