"""The transforms: a dbt package (this folder, dbt's `livechat`) run on a pipeline's destination.

`models/` holds the layers (staging: one view per loaded table; intermediate: the additive parts
of each KPI; marts: the rollups), `macros/` the SQL that differs between engines and the rollups
shared by several grains, `tests/` the package's generic and singular tests. Running them
(a transform: `run_transforms`, in `transform.py`) builds the models, each a view over the
loaded tables, and runs their tests: `dbt build` with dbt's own command (`runner.py`) and the
pipeline's credentials. A load calls it with `force=False`, and dbt then runs only when the
package or the loaded tables' columns changed since the models were last built
(`fingerprint.py`), testing the loaded tables' grain (`selectors.yml`); `livechat-reports
transform` runs every test.

Importing this package imports nothing else: the names below are loaded from `transform.py` when
first used. dbt's own process imports `transforms.existing_file` (the profiles' DuckDB plugin),
which runs this file first; importing `transform.py` there would import dlt and the source, about a
second of CPU in every dbt run for nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .transform import (
        PROJECT_DIR,
        DbtNotInstalled,
        NoLoadedTablesError,
        TransformFailed,
        TransformResult,
        expected_tables,
        model_names,
        run_transforms,
    )

__all__ = [
    "PROJECT_DIR",
    "DbtNotInstalled",
    "NoLoadedTablesError",
    "TransformFailed",
    "TransformResult",
    "expected_tables",
    "model_names",
    "run_transforms",
]


def __getattr__(name: str) -> Any:
    """Load a public name from `transform.py` on first use (PEP 562)."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(".transform", __name__), name)
    globals()[name] = value
    return value
