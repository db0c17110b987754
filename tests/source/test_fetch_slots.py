"""Fetch slots: shards of a process take turns starting their accounts (`shard.SharedFetching`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sources.livechat import shard
from sources.livechat.shard import AccountOutcome, CursorBook, ShardFetch, SharedFetching


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


@pytest.fixture
def shared() -> Iterator[SharedFetching]:
    """One fetch slot, as the shards of one process share it."""
    fetching = SharedFetching.of(1, 1)
    yield fetching
    fetching.close()


def shard_of(accounts: list[str], shared: SharedFetching, concurrency: int = 1) -> ShardFetch:
    return ShardFetch(accounts, CursorBook(), concurrency, shared=shared)  # type: ignore[arg-type]


def test_one_slot_lets_a_shard_start_once_the_previous_started_every_account(
    fetched: list[tuple[str, float, float]], shared: SharedFetching
) -> None:
    first = shard_of(["a1", "a2", "a3"], shared, 2)
    second = shard_of(["b1", "b2"], shared, 2)
    threads = [threading.Thread(target=f.results, daemon=True) for f in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    first.close()
    second.close()
    starts = {
        prefix: sorted(s for a, s, _ in fetched if a.startswith(prefix)) for prefix in ("a", "b")
    }
    (one, two) = sorted(starts.values())
    assert len(fetched) == 5
    assert two[0] >= one[-1]  # the second shard began once the first had started every account


def test_a_shard_gives_its_slot_back_when_its_last_account_starts(
    monkeypatch: pytest.MonkeyPatch, shared: SharedFetching
) -> None:
    release = threading.Event()
    begun: list[str] = []

    def slow_a(account: Any, cursors: CursorBook, stopped: threading.Event) -> AccountOutcome:
        begun.append(account)
        if account.startswith("a"):
            release.wait(5)  # the first shard's last account is still being fetched
        return AccountOutcome(account)

    monkeypatch.setattr(shard, "fetch_account", slow_a)
    first = shard_of(["a1"], shared)
    first._start()
    second = shard_of(["b1"], shared)
    waiter = threading.Thread(target=second.results, daemon=True)
    waiter.start()
    waiter.join(5)
    fetching = not release.is_set()
    release.set()
    assert not waiter.is_alive() and fetching  # b1 fetched while a1 was still in flight
    assert begun == ["a1", "b1"]
    first.close()
    second.close()


def test_a_shard_gives_its_slot_back_when_fetched_not_when_loaded(
    fetched: list[tuple[str, float, float]], shared: SharedFetching
) -> None:
    first = shard_of(["a1"], shared)
    first.results()  # fetched; not closed, as a shard waiting for its load step
    second = shard_of(["b1"], shared)
    done = threading.Thread(target=second.results, daemon=True)
    done.start()
    done.join(5)
    assert not done.is_alive()
    first.close()
    second.close()


def test_a_stopped_shard_gives_its_slot_back(
    monkeypatch: pytest.MonkeyPatch, shared: SharedFetching
) -> None:
    release = threading.Event()

    def blocked(account: Any, cursors: CursorBook, stopped: threading.Event) -> AccountOutcome:
        release.wait(5)
        return AccountOutcome(account)

    monkeypatch.setattr(shard, "fetch_account", blocked)
    stopped = shard_of(["a1", "a2"], shared)
    stopped._start()
    closing = threading.Thread(target=stopped.close, daemon=True)
    closing.start()  # cancels a2, which never begins, and waits for a1
    release.set()
    closing.join(5)
    after = shard_of(["b1"], shared)
    waiter = threading.Thread(target=after.results, daemon=True)
    waiter.start()
    waiter.join(5)
    assert not waiter.is_alive()
    after.close()


def test_a_shard_done_leaves_the_shared_pool_open_for_the_others(shared: SharedFetching) -> None:
    first = shard_of(["a1"], shared)
    first.close()  # a shard that finished: the pool is the process's, not the shard's
    assert shared.pool.submit(lambda: 42).result(timeout=5) == 42
