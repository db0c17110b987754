"""Pure: the settings that give a dataset's rows their meaning, and how a run may differ from them.

A day of `chats_total_chats` means something only together with the account it belongs to, the
timezone its day was cut in, the distribution of its buckets and the filters that selected its
chats. These four are recorded with the dataset, in its table `account_loads` (one row per
finished load of an account, committed with the load's rows; `account_load_row`), and compared
with every later run of that account, whatever pipeline writes it: a run whose meaning differs
would mix rows of two meanings in one table, so it is refused before any request. Datasets
loaded before that table existed have the meaning only in the pipeline's state (`STATE_KEY`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .exceptions import ConfigurationError

STATE_KEY = "dataset_meaning"
# In the order a person reads them; each is a setting of `[sources.livechat]`.
MEANING_FIELDS = ("account_id", "timezone", "distribution", "filters")
# One row per load of an account, appended with the load's rows: the account's meaning, the
# accounts configured when it ran (on one row of each load), and when it ran. Only rows of
# finished loads count.
ACCOUNTS_TABLE = "account_loads"
ACCOUNTS_COLUMNS: dict[str, Any] = {
    name: {"data_type": data_type, "nullable": name != "account_id"}
    for name, data_type in (
        ("account_id", "text"),
        ("timezone", "text"),
        ("distribution", "text"),
        ("filters", "text"),
        ("configured_accounts", "text"),
        ("loaded_at", "timestamp"),
    )
}


def meaning_of(
    account_id: str, timezone: str, distribution: str, filters: Mapping[str, Any]
) -> dict[str, str]:
    """Return the recordable meaning of a run's rows: every value as canonical text."""
    return {
        "account_id": account_id,
        "timezone": timezone,
        "distribution": distribution,
        "filters": canonical_filters(filters),
    }


def account_load_row(
    meaning: Mapping[str, str], configured_accounts: Iterable[str] | None, loaded_at: dt.datetime
) -> dict[str, Any]:
    """Return the `account_loads` row of one load: its meaning, the configured accounts, its time.

    Args:
        meaning: The run's meaning (`meaning_of`).
        configured_accounts: The account ids configured when the load ran (the load's own
            included), recorded as a JSON list so a later reader knows which were dropped; or
            None for the other accounts of the same load: the list is written once per load,
            not once per account (10,000 accounts would make it 10,000 x 10,000 ids).
        loaded_at: When the load ran, by the run's clock.
    """
    listed = None
    if configured_accounts is not None:
        configured = sorted({*configured_accounts, meaning["account_id"]})
        listed = json.dumps(configured, separators=(",", ":"))
    return {
        **{name: meaning[name] for name in MEANING_FIELDS},
        "configured_accounts": listed,
        "loaded_at": loaded_at,
    }


def canonical_filters(filters: Mapping[str, Any]) -> str:
    """Return filters as compact JSON with sorted keys, so equal filters give equal text."""
    return json.dumps(filters, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class Change:
    """One setting whose value differs from the one the dataset was loaded with."""

    name: str
    recorded: str
    requested: str


def changes(recorded: Mapping[str, Any] | None, requested: Mapping[str, str]) -> list[Change]:
    """Return the meaning settings of `requested` that differ from `recorded`.

    A dataset with nothing recorded (never loaded, or loaded before meanings were recorded)
    has no changes: the run records its own meaning.
    """
    if not recorded:
        return []
    return [
        Change(name, str(recorded[name]), requested[name])
        for name in MEANING_FIELDS
        if name in recorded and str(recorded[name]) != requested[name]
    ]


class DatasetMeaningChanged(ConfigurationError):
    """A run's settings differ from those the dataset's rows were loaded with.

    Attributes:
        dataset: The dataset name.
        changed: What differs, old and new values.
    """

    def __init__(self, dataset: str, changed: list[Change]) -> None:
        self.dataset = dataset
        self.changed = changed
        what = "; ".join(
            f"`{c.name}` was `{_shown(c.recorded)}`, this run asks for `{_shown(c.requested)}`"
            for c in changed
        )
        super().__init__(
            f"Dataset `{dataset}` holds rows loaded with other settings: {what}. Loading on"
            " would mix rows of both settings in the same tables, so nothing was requested."
            " Either load into another dataset (`--dataset NAME`), or reload this one from"
            " `start_date` with the new settings (`--refresh`: it replaces this account's rows"
            " in every table it loads)."
        )


class RefreshLeavesTables(ConfigurationError):
    """`--refresh` was asked for only some reports while others hold rows of the old settings."""

    def __init__(self, dataset: str, left: list[str]) -> None:
        self.dataset = dataset
        self.left = left
        super().__init__(
            f"`--refresh` of dataset `{dataset}` would leave {', '.join(left)} with rows of the"
            " old settings, because `reports` does not select them. Refresh every loaded report"
            " (leave out `--reports`, or list them all), or load into another dataset."
        )


def _shown(value: str) -> str:
    return value if value not in ("", "{}") else "{} (none)"
