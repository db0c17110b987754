"""Apply the SQL views in layer order (staging, intermediate, marts) through the SQL client.

Each `.sql` file is one `select` that becomes `create or replace view <file name>`. Inside it,
`{{ table('x') }}` names a loaded table, `{{ ref('y') }}` another view, and a few macros
(`{{ week_start('col') }}`, `{{ month_start('col') }}`, `{{ days_in_month('col') }}`) hold the
only date SQL that differs between engines, so the views build on DuckDB and PostgreSQL alike.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dlt.pipeline.pipeline import Pipeline

logger = logging.getLogger("livechat_reports")
LAYERS = ("staging", "intermediate", "marts")
ROOT = Path(__file__).parent
REFERENCE = re.compile(r"\{\{\s*(table|ref)\('([a-z0-9_]+)'\)\s*\}\}")
MACRO = re.compile(r"\{\{\s*([a-z_]+)\('([a-z0-9_.]+)'\)\s*\}\}")
# Portable across DuckDB and PostgreSQL; another engine gets its own entry here.
MACROS: dict[str, Callable[[str], str]] = {
    "week_start": lambda col: f"cast(date_trunc('week', {col}) as date)",
    "month_start": lambda col: f"cast(date_trunc('month', {col}) as date)",
    "days_in_month": lambda col: (
        f"cast(cast({col} + interval '1 month' as date) - {col} as integer)"
    ),
}


@dataclass(frozen=True)
class View:
    """One SQL file: a `select` that becomes `create or replace view <name>`."""

    layer: str
    name: str
    sql: str

    def references(self) -> list[tuple[str, str]]:
        """The loaded tables and views this view reads, as (kind, name)."""
        return REFERENCE.findall(self.sql)


def load_views() -> list[View]:
    """Return every view in layer order, then by file name."""
    return [
        View(layer, path.stem, path.read_text(encoding="utf-8"))
        for layer in LAYERS
        for path in sorted((ROOT / layer).glob("*.sql"))
    ]


@dataclass(frozen=True)
class TransformResult:
    """Which views were built and which were skipped, and why."""

    built: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]


def apply_transforms(pipeline: Pipeline) -> TransformResult:
    """Create or replace every view whose inputs exist; skip the others with a note.

    Args:
        pipeline: A pipeline that has loaded at least once.

    Returns:
        The views built and the views skipped with the reason.
    """
    built: list[str] = []
    skipped: list[tuple[str, str]] = []
    with pipeline.sql_client() as client:
        existing = _existing_tables(client)
        for view in load_views():
            missing = [
                name
                for kind, name in view.references()
                if (name not in existing if kind == "table" else name not in built)
            ]
            if missing:
                reason = f"needs {', '.join(missing)}, which was not loaded or built"
                skipped.append((view.name, reason))
                logger.info("view %s skipped: %s", view.name, reason)
                continue

            def render(match: re.Match[str]) -> str:
                return str(client.make_qualified_table_name(match.group(2)))

            body = MACRO.sub(_macro, REFERENCE.sub(render, view.sql))
            target = client.make_qualified_table_name(view.name)
            client.execute_sql(f"create or replace view {target} as\n{body}")
            built.append(view.name)
    return TransformResult(tuple(built), tuple(skipped))


def _macro(match: re.Match[str]) -> str:
    name, argument = match.groups()
    if name not in MACROS:
        raise ValueError(f"unknown SQL macro `{name}`; known: {', '.join(MACROS)}")
    return MACROS[name](argument)


def _existing_tables(client: object) -> set[str]:
    rows = client.execute_sql(  # type: ignore[attr-defined]
        "select table_name from information_schema.tables where table_schema = %s",
        client.dataset_name,  # type: ignore[attr-defined]
    )
    return {r[0] for r in rows or []}
