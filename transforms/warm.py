"""Parse the dbt package once per version, at install time: `python -m transforms.warm`.

dbt's full parse of the package costs about 3 s of CPU; a build that finds a saved parse for
its package version, profile, connection and dataset starts from it instead (`runner.py`). A
saved parse fits every DuckDB file of the same name and dataset, wherever it is, so parsing for
the command's default names (`livechat.duckdb`, the demo's `livechat-demo.duckdb`, dataset
`livechat_reports`) here makes the first build of the views on this machine skip it. `make venv`
runs it after installing. Any other name, dataset or destination parses on its first build, as
without it; a parse that fails here changes nothing.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from .runner import Target, dbt_parse, missing_dbt

DEFAULT_FILES = ("livechat.duckdb", "livechat-demo.duckdb")
DEFAULT_DATASET = "livechat_reports"


class _File:
    """DuckDB credentials as the profile reads them: the file's path."""

    def __init__(self, database: Path) -> None:
        self.database = str(database)


def warm(files: tuple[str, ...] = DEFAULT_FILES, dataset: str = DEFAULT_DATASET) -> list[str]:
    """Parse the package for DuckDB files of these names; return the names parsed for."""
    if missing_dbt("duckdb") is not None:
        return []
    import duckdb

    parsed = []
    with tempfile.TemporaryDirectory(prefix="livechat-parse-") as folder:
        for name in files:
            work = Path(folder) / name.replace(".", "_")
            work.mkdir()
            database = work / name
            duckdb.connect(str(database)).close()  # the profile's plugin refuses a missing file
            if dbt_parse(Target("duckdb", _File(database), dataset), work / "dbt"):
                parsed.append(name)
    return parsed


def main() -> int:
    """Parse for the default names and say which (never fails the install)."""
    parsed = warm()
    print(f"dbt parse saved for: {', '.join(parsed) or 'none (dbt missing or the parse failed)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
