"""The report assets' own checks, run by each load right after it commits.

- `grain` on every report table (and `account_loads`): one row per key, no null key, as the dbt
  package's source test `grain` says it (the same keys, from the registry).
- `accounts_loaded_recently` on `account_loads`: every configured account had a successful
  load in the last `LIVECHAT_STALE_AFTER_HOURS` hours (default 26: a daily schedule with two
  hours to spare), as the package's `configured_accounts_loaded_recently` test says it.

A failed check is a failed check, not a failed run: the rows are committed by then, and
loading them again would not change what the check found. The checks read the whole table,
whichever shard's run evaluates them.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
)

from pipelines.clock import rehearsed_now
from sources.livechat.meaning import ACCOUNTS_TABLE
from sources.livechat.reports import every_report, primary_key

GRAIN_CHECK = "grain"
FRESHNESS_CHECK = "accounts_loaded_recently"
STALE_AFTER_VARIABLE = "LIVECHAT_STALE_AFTER_HOURS"
DEFAULT_STALE_AFTER_HOURS = 26


class Query(Protocol):
    """Runs one SQL statement on the warehouse and returns its rows."""

    def __call__(self, sql: str) -> Sequence[Sequence[Any]]:
        """Return the rows of `sql`."""
        ...


@dataclass(frozen=True)
class Grain:
    """The key of a table: one row per combination of `columns` and `nullable_columns`.

    Attributes:
        columns: Key columns that must not be null (`account_id` first).
        nullable_columns: Key columns that may be null (`report_hour` of rows loaded by day).
    """

    columns: tuple[str, ...]
    nullable_columns: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, ...]:
        """Every key column."""
        return (*self.columns, *self.nullable_columns)


def grains() -> dict[str, Grain]:
    """The key of every table that has one, by table name (as the dbt sources declare it)."""
    found = {ACCOUNTS_TABLE: Grain(("account_id", "_dlt_load_id"))}
    for spec in every_report():
        for table in spec.tables:
            columns = tuple(primary_key(table, spec, hourly=False))
            found[table.name] = Grain(columns, ("report_hour",) if spec.hourly else ())
    return found


def check_specs(key_prefix: str, assets: Collection[AssetKey]) -> list[AssetCheckSpec]:
    """The checks of the report assets: a grain per keyed table, freshness on account_loads.

    Args:
        key_prefix: The report assets' key prefix.
        assets: The report assets there are (the reports selected): checks of these only.
    """
    specs = [
        AssetCheckSpec(
            GRAIN_CHECK,
            asset=AssetKey([key_prefix, table]),
            description=f"One row per ({', '.join(grain.key)}) and no null key, after each load.",
        )
        for table, grain in grains().items()
    ]
    specs.append(
        AssetCheckSpec(
            FRESHNESS_CHECK,
            asset=AssetKey([key_prefix, ACCOUNTS_TABLE]),
            description="Every configured account loaded successfully in the last"
            f" {STALE_AFTER_VARIABLE} hours (default {DEFAULT_STALE_AFTER_HOURS}).",
        )
    )
    return [spec for spec in specs if spec.asset_key in assets]


def grain_result(
    query: Query, key_prefix: str, table: str, qualified: str, grain: Grain
) -> AssetCheckResult:
    """Check that `qualified` (the table as SQL names it) holds one row per key.

    Args:
        query: Runs SQL on the warehouse.
        key_prefix: The report assets' key prefix.
        table: The table's name (its asset's last key part).
        qualified: The table's qualified name, quoted as the destination wants it.
        grain: Its key.
    """
    key = ", ".join(grain.key)
    nulls = " or ".join(f"{c} is null" for c in grain.columns)
    rows = query(
        f"select account_id, count(*), sum(rows_found) from ("
        f" select {key}, count(*) as rows_found from {qualified} group by {key}"
        f" having count(*) > 1 or {nulls}"
        f") problems group by account_id order by account_id"
    )
    by_account = {str(account): (int(keys), int(found)) for account, keys, found in rows}
    metadata: dict[str, Any] = {
        "key": MetadataValue.text(key),
        "keys_on_more_than_one_row_or_null": MetadataValue.int(
            sum(k for k, _ in by_account.values())
        ),
    }
    if not by_account:
        return AssetCheckResult(
            asset_key=AssetKey([key_prefix, table]),
            check_name=GRAIN_CHECK,
            passed=True,
            metadata=metadata,
        )
    named = "; ".join(
        f"account {account}: {keys} keys on {found} rows"
        for account, (keys, found) in by_account.items()
    )
    metadata["by_account"] = MetadataValue.json({a: k for a, (k, _) in by_account.items()})
    metadata["problem"] = MetadataValue.text(
        f"{qualified} has keys ({key}) that stand on more than one row or are null: {named}."
        f" Find them with `select {key}, count(*) from {qualified} group by {key} having"
        f" count(*) > 1`; reloading the account's days with run config `refresh: true` (and"
        " `start_date`) replaces its rows."
    )
    return AssetCheckResult(
        asset_key=AssetKey([key_prefix, table]),
        check_name=GRAIN_CHECK,
        passed=False,
        severity=AssetCheckSeverity.ERROR,
        metadata=metadata,
    )


def not_loaded_result(key_prefix: str, table: str) -> AssetCheckResult:
    """The grain of a table the dataset does not have yet: it passes, as dbt's `grain` test."""
    return AssetCheckResult(
        asset_key=AssetKey([key_prefix, table]),
        check_name=GRAIN_CHECK,
        passed=True,
        metadata={"problem": MetadataValue.text("The table is not loaded yet: no row to check.")},
    )


def stale_after_hours(environ: Mapping[str, str] | None = None) -> int:
    """The hours after which an account's last load is too old (`LIVECHAT_STALE_AFTER_HOURS`).

    Raises:
        ValueError: When the variable is set to something else than a positive whole number.
    """
    text = (os.environ if environ is None else environ).get(STALE_AFTER_VARIABLE, "").strip()
    if not text:
        return DEFAULT_STALE_AFTER_HOURS
    if not text.isdigit() or int(text) < 1:
        raise ValueError(
            f"{STALE_AFTER_VARIABLE} `{text}` is not a positive whole number of hours; set it"
            f" like 26, or unset it for the default ({DEFAULT_STALE_AFTER_HOURS})."
        )
    return int(text)


def last_loads(query: Query, qualified: str) -> dict[str, dt.datetime]:
    """When each account's last successful load ran, from `account_loads` (`qualified`)."""
    rows = query(f"select account_id, max(loaded_at) from {qualified} group by account_id")
    return {str(account): _utc(loaded_at) for account, loaded_at in rows}


def freshness_result(
    last: Mapping[str, dt.datetime],
    key_prefix: str,
    configured: Iterable[str],
    now: dt.datetime | None = None,
    hours: int | None = None,
) -> AssetCheckResult:
    """Check that every configured account had a successful load in the last `hours`.

    Args:
        last: When each account's last successful load ran (`last_loads`; empty when
            `account_loads` was not written yet).
        key_prefix: The report assets' key prefix.
        configured: The account ids configured now.
        now: The instant to measure from (default the rehearsed clock, else the real one).
        hours: The age at which a load is too old (default `stale_after_hours()`).
    """
    now = now or rehearsed_now() or dt.datetime.now(dt.timezone.utc)
    hours = stale_after_hours() if hours is None else hours
    oldest = now - dt.timedelta(hours=hours)
    stale: dict[str, dt.datetime | None] = {}
    for account in sorted(set(configured)):
        loaded_at = last.get(account)
        if loaded_at is None or loaded_at < oldest:
            stale[account] = loaded_at
    metadata: dict[str, Any] = {
        "last_loaded_at": MetadataValue.json(
            {a: (t.isoformat() if t else None) for a, t in sorted(last.items())}
        ),
        "stale_after_hours": MetadataValue.int(hours),
    }
    if stale:
        named = "; ".join(
            f"{a} (last loaded {t.isoformat() if t else 'never'})" for a, t in stale.items()
        )
        metadata["stale_accounts"] = MetadataValue.text(", ".join(stale))
        metadata["problem"] = MetadataValue.text(
            f"Accounts not loaded successfully in the last {hours} hours: {named}. Check"
            " their tokens and their shard's last runs, or remove their sections"
            f" ({STALE_AFTER_VARIABLE} sets the hours)."
        )
    return AssetCheckResult(
        asset_key=AssetKey([key_prefix, ACCOUNTS_TABLE]),
        check_name=FRESHNESS_CHECK,
        passed=not stale,
        severity=AssetCheckSeverity.ERROR,
        metadata=metadata,
    )


def _utc(value: Any) -> dt.datetime:
    """A timestamp as the destination returns it, as an aware UTC instant (naive is UTC)."""
    instant = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return instant.replace(tzinfo=dt.timezone.utc) if instant.tzinfo is None else instant
