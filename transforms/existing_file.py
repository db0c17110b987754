"""A dbt-duckdb plugin that opens a DuckDB file only if it exists: DuckDB creates a missing one.

Every DuckDB profile in profiles/profiles.yml lists it, so `dbt build` pointed at a mistyped
path (or run from a folder without the file) fails before connecting, instead of creating an
empty database and building empty views in it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from dbt_common.exceptions import DbtRuntimeError

# Paths that name no local file: in-memory databases and DuckDB's URL-like schemes (md:, s3://).
NOT_A_FILE = (":memory:", "")


class Plugin(BasePlugin):
    """Refuse to connect to a DuckDB file that does not exist (DuckDB would create it)."""

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        """Raise before dbt-duckdb's `duckdb.connect` when `creds.path` names no file."""
        path = str(creds.path)
        if path in NOT_A_FILE or ":" in path.split("/")[0]:
            return
        if not Path(path).exists():
            raise DbtRuntimeError(
                f"DuckDB file `{Path(path).absolute()}` does not exist; dbt does not create it."
                " Set LIVECHAT_DUCKDB_PATH to the file `livechat-reports load` wrote (its"
                " summary prints the absolute path), or run dbt in the folder that holds"
                " livechat.duckdb."
            )
