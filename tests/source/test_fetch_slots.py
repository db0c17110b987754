"""Fetch slots: how many shards of a process fetch at once (`shard.fetch_slots`)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from sources.livechat import shard
from sources.livechat.shard import AccountOutcome, CursorBook, ShardFetch, fetch_slots


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float, float]]:
    """Replace the fetch of an account by a 50 ms sleep; record (account, start, end)."""
    record: list[tuple[str, float, float]] = []

    def fake_fetch(account: Any, cursors: CursorBook, stopped: threading.Event) -> AccountOutcome:
        began = time.monotonic()
        time.sleep(0.05)
        record.append((account, began, time.monotonic()))
        return AccountOutcome(account)

    monkeypatch.setattr(shard, "fetch_account", fake_fetch)
    return record


def test_one_slot_lets_one_shard_fetch_at_a_time(fetched: list[tuple[str, float, float]]) -> None:
    first = ShardFetch(["a1", "a2", "a3"], CursorBook(), concurrency=2)  # type: ignore[list-item]
    second = ShardFetch(["b1", "b2"], CursorBook(), concurrency=2)  # type: ignore[list-item]
    with fetch_slots(1):
        threads = [threading.Thread(target=f.results, daemon=True) for f in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    first.close()
    second.close()
    spans = {
        prefix: (
            min(s for a, s, _ in fetched if a.startswith(prefix)),
            max(e for a, _, e in fetched if a.startswith(prefix)),
        )
        for prefix in ("a", "b")
    }
    (one, two) = sorted(spans.values())
    assert len(fetched) == 5
    assert two[0] >= one[1]  # the second shard began after the first had fetched every account


def test_a_shard_gives_its_slot_back_when_fetched_not_when_loaded(
    fetched: list[tuple[str, float, float]],
) -> None:
    with fetch_slots(1):
        first = ShardFetch(["a1"], CursorBook(), concurrency=1)  # type: ignore[list-item]
        first.results()  # fetched; not closed, as a shard waiting for its load step
        second = ShardFetch(["b1"], CursorBook(), concurrency=1)  # type: ignore[list-item]
        done = threading.Thread(target=second.results, daemon=True)
        done.start()
        done.join(5)
        assert not done.is_alive()
    first.close()
    second.close()


def test_a_stopped_shard_gives_its_slot_back(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def blocked(account: Any, cursors: CursorBook, stopped: threading.Event) -> AccountOutcome:
        release.wait(5)
        return AccountOutcome(account)

    monkeypatch.setattr(shard, "fetch_account", blocked)
    with fetch_slots(1):
        stopped = ShardFetch(["a1", "a2"], CursorBook(), concurrency=1)  # type: ignore[list-item]
        stopped._start()
        closing = threading.Thread(target=stopped.close, daemon=True)
        closing.start()  # cancels a2, which never begins, and waits for a1
        release.set()
        closing.join(5)
        after = ShardFetch(["b1"], CursorBook(), concurrency=1)  # type: ignore[list-item]
        waiter = threading.Thread(target=after.results, daemon=True)
        waiter.start()
        waiter.join(5)
        assert not waiter.is_alive()
    after.close()
