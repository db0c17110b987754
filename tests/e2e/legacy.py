"""Loads as the previous version made them: meaning and cursors in the pipeline's dlt state.

Before `account_loads` and `account_cursors`, each pipeline loaded one account and kept the
account's meaning (`dataset_meaning`) and each report's last loaded days in its dlt source
state, and wrote neither table. `old_version` makes the source do exactly that, so tests can
build a dataset of the previous version and load it with this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
import pytest

from sources.livechat import shard
from sources.livechat.meaning import STATE_KEY


def _state_only(fetch: shard.ShardFetch, *args: Any) -> Iterator[Any]:
    state = dlt.current.source_state()
    for outcome in fetch.outcomes():
        if outcome.error is None:
            state[STATE_KEY] = outcome.account.settings.meaning
            resources = state.setdefault("resources", {})
            for report, cursor in outcome.cursors.items():
                resources.setdefault(report, {}).update(cursor)
    yield from ()


def _nothing(*args: Any) -> Iterator[Any]:
    yield from ()


def old_version(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make loads record what the previous version recorded, and nothing else."""
    monkeypatch.setattr(shard, "account_loads", _state_only)
    monkeypatch.setattr(shard, "account_cursors", _nothing)
