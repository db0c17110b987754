"""Apply the SQL views in layer order (staging, intermediate, marts) through the SQL client.

Each `.sql` file is one `select` that becomes `create or replace view <file name>`. Inside it,
`{{ table('x') }}` names a loaded table, `{{ ref('y') }}` another view, and a few macros
(`{{ week_start('col') }}`, `{{ month_start('col') }}`, `{{ days_in_month('col') }}`) hold the
only date SQL that differs between engines, so the views build on DuckDB and PostgreSQL alike.

A file named with `{grain}` (`kpi_{grain}.sql`) is one view per grain listed in its first
line (`-- grains: weekly, monthly`); in it `{{ period_start('col') }}`, `{{ period_days('col') }}`,
`{{ period_column }}` and `{{ period }}` stand for that grain's day truncation, period length,
key column and name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlt.pipeline.pipeline import Pipeline

logger = logging.getLogger("livechat_reports")
LAYERS = ("staging", "intermediate", "marts")
ROOT = Path(__file__).parent
REFERENCE = re.compile(r"\{\{\s*(table|ref)\('([a-z0-9_]+)'\)\s*\}\}")
MACRO = re.compile(r"\{\{\s*([a-z_]+)\('([a-z0-9_.]+)'\)\s*\}\}")
GRAINS_LINE = re.compile(r"^--\s*grains:\s*(.+)$", re.MULTILINE)

# Portable across DuckDB and PostgreSQL; another engine gets its own entry here.
MACROS: dict[str, Callable[[str], str]] = {
    "week_start": lambda col: f"cast(date_trunc('week', {col}) as date)",
    "month_start": lambda col: f"cast(date_trunc('month', {col}) as date)",
    "days_in_month": lambda col: (
        f"cast(cast({col} + interval '1 month' as date) - {col} as integer)"
    ),
}


@dataclass(frozen=True)
class Grain:
    """How a templated view rolls days up: the period's name, key column, start and length."""

    period: str
    column: str
    start: Callable[[str], str]
    days: Callable[[str], str]


GRAINS: dict[str, Grain] = {
    "daily": Grain("day", "report_date", lambda col: col, lambda col: "1"),
    "weekly": Grain(
        "week", "week_start", lambda col: f"{{{{ week_start('{col}') }}}}", lambda col: "7"
    ),
    "monthly": Grain(
        "month",
        "month_start",
        lambda col: f"{{{{ month_start('{col}') }}}}",
        lambda col: f"{{{{ days_in_month('{col}') }}}}",
    ),
}


@dataclass(frozen=True)
class View:
    """One view: a `select` that becomes `create or replace view <name>`."""

    layer: str
    name: str
    sql: str

    def references(self) -> list[tuple[str, str]]:
        """The loaded tables and views this view reads, as (kind, name)."""
        return REFERENCE.findall(self.sql)


def render_grain(sql: str, grain: str) -> str:
    """Fill a grain template's placeholders for one grain."""
    spec = GRAINS[grain]
    sql = re.sub(
        r"\{\{\s*period_start\('([a-z0-9_.]+)'\)\s*\}\}", lambda m: spec.start(m.group(1)), sql
    )
    sql = re.sub(
        r"\{\{\s*period_days\('([a-z0-9_.]+)'\)\s*\}\}", lambda m: spec.days(m.group(1)), sql
    )
    sql = re.sub(r"\{\{\s*period_column\s*\}\}", spec.column, sql)
    return re.sub(r"\{\{\s*period\s*\}\}", spec.period, sql).replace("{grain}", grain)


def load_views() -> list[View]:
    """Return every view in layer order, then by name; grain templates expanded."""
    views = []
    for layer in LAYERS:
        layer_views = []
        for path in sorted((ROOT / layer).glob("*.sql")):
            sql = path.read_text(encoding="utf-8")
            if "{grain}" not in path.stem:
                layer_views.append(View(layer, path.stem, sql))
                continue
            listed = GRAINS_LINE.search(sql)
            if not listed:
                raise ValueError(f"{path.name} is a grain template without a `-- grains:` line")
            for grain in (g.strip() for g in listed.group(1).split(",")):
                name = path.stem.replace("{grain}", grain)
                layer_views.append(View(layer, name, render_grain(sql, grain)))
        views += sorted(layer_views, key=lambda v: v.name)
    return views


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

            def qualified(match: re.Match[str]) -> str:
                return str(client.make_qualified_table_name(match.group(2)))

            body = MACRO.sub(_macro, REFERENCE.sub(qualified, view.sql))
            target = client.make_qualified_table_name(view.name)
            client.execute_sql(f"create or replace view {target} as\n{body}")
            built.append(view.name)
    return TransformResult(tuple(built), tuple(skipped))


def _macro(match: re.Match[str]) -> str:
    name, argument = match.groups()
    if name not in MACROS:
        raise ValueError(f"unknown SQL macro `{name}`; known: {', '.join(MACROS)}")
    return MACROS[name](argument)


def _existing_tables(client: Any) -> set[str]:
    rows = client.execute_sql(
        "select table_name from information_schema.tables where table_schema = %s",
        client.dataset_name,
    )
    return {r[0] for r in rows or []}
