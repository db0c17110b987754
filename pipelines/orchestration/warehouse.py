"""Where the shards' data goes, as a Dagster resource: destination, dataset, DuckDB file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster import ConfigurableResource

from pipelines.livechat_reports import (
    DEFAULT_DATASET,
    DEFAULT_PIPELINE,
    build_pipeline,
    dataset_name_for,
    duckdb_path,
)


class LiveChatWarehouse(ConfigurableResource):  # type: ignore[type-arg]
    """The destination every account loads into, configured as for `livechat-reports load`.

    Server credentials come the dlt way (`DESTINATION__POSTGRES__CREDENTIALS` or
    `.dlt/secrets.toml`), never from Dagster's run config, so they stay out of its event log.

    Attributes:
        destination: The dlt destination (`duckdb`, `postgres`, ...).
        dataset_name: The shared dataset.
        duckdb_file: The DuckDB file (default as the command finds it: `livechat.duckdb`).
        pipeline_name: Each shard's pipeline is `<pipeline_name>_shard_<k>`; the same as the
            command's, so the command and Dagster carry on from each other.
    """

    destination: str = "duckdb"
    dataset_name: str = DEFAULT_DATASET
    duckdb_file: str | None = None
    pipeline_name: str = DEFAULT_PIPELINE

    def load_arguments(self) -> dict[str, Any]:
        """The destination arguments of a load of shards (`accounts.run_accounts`)."""
        return {
            "pipeline_name": self.pipeline_name,
            "destination": self.destination,
            "dataset_name": self.dataset_name,
            "duckdb_file": self.duckdb_file,
        }

    @contextmanager
    def dbt_environment(self) -> Iterator[None]:
        """Point the dbt package's `livechat` profile at this destination while dbt starts.

        Sets `LIVECHAT_DBT_TARGET` and the target's connection variables (the profile in
        transforms/profiles/profiles.yml reads them), and restores the environment afterwards.
        """
        values = {"LIVECHAT_DBT_TARGET": self.destination}
        if self.destination == "duckdb":
            values["LIVECHAT_DUCKDB_PATH"] = duckdb_path(self.duckdb_file)
        else:
            # Resolved the dlt way, as the loads resolve them.
            pipeline = build_pipeline(
                f"{self.pipeline_name}_views", self.destination, self.dataset_name
            )
            credentials: Any = pipeline.destination_client().config.credentials
            values.update(
                {
                    "LIVECHAT_PG_HOST": str(credentials.host),
                    "LIVECHAT_PG_PORT": str(credentials.port or 5432),
                    "LIVECHAT_PG_USER": str(credentials.username),
                    "LIVECHAT_PG_PASSWORD": str(credentials.password or ""),
                    "LIVECHAT_PG_DATABASE": str(credentials.database),
                }
            )
        saved = {key: os.environ.get(key) for key in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    @contextmanager
    def sql_client(self) -> Iterator[Any]:
        """Open dlt's SQL client on the dataset, to count rows and run checks after a load.

        Connected as the loads connect (the same file, the same credentials the dlt way), with
        a pipeline of its own (`<pipeline_name>_dagster`) that never runs.
        """
        pipeline = build_pipeline(
            f"{self.pipeline_name}_dagster", self.destination, self.dataset_name, self.duckdb_file
        )
        with pipeline.sql_client() as client:
            yield client

    def has_dataset(self) -> bool:
        """False when nothing was loaded yet into a DuckDB file (it does not exist)."""
        return self.destination != "duckdb" or os.path.exists(duckdb_path(self.duckdb_file))

    def stored_dataset(self) -> str:
        """The dataset as the destination stores it (the models' schema)."""
        return dataset_name_for(self.dataset_name)
