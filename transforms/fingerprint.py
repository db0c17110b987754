"""Pure: what decides whether the models must be built again.

The models depend on the package's files and on the loaded tables' columns (a table appearing
for the first time, or a new column, changes what a model selects); rows do not matter, since
the models are views, which read them at query time. A load that changed neither skips dbt,
which costs seconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

# What dbt reads from the package folder; its own output (target/, logs/) is elsewhere.
PACKAGE_FILES = (
    "dbt_project.yml",
    "profiles",
    "selectors.yml",
    "models",
    "macros",
    "tests",
)


def package_files(root: Path) -> list[Path]:
    """Every file of the package that dbt reads, in a stable order."""
    files: list[Path] = []
    for name in PACKAGE_FILES:
        path = root / name
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return files


def fingerprint(
    root: Path, columns: Iterable[tuple[str, str, str]], versions: Iterable[str] = ()
) -> str:
    """Return a digest of the package's files, the loaded tables' columns and tool versions.

    Args:
        root: The package folder.
        columns: (table, column, type) of every table in the dataset.
        versions: Versions of the tools that render the models (dbt, the adapter).
    """
    digest = hashlib.sha256()
    for path in package_files(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    for table, column, data_type in sorted(columns):
        digest.update(f"{table}.{column}:{data_type}\n".encode())
    for version in versions:
        digest.update(version.encode())
    return digest.hexdigest()
