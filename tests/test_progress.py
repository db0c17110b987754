"""The progress counts and the log line, on a fake clock."""

from __future__ import annotations

import threading

from pipelines.progress import Tally, describe


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_eta_comes_from_the_extract_rate_and_the_line_says_it_all() -> None:
    clock = Clock()
    tally = Tally(clock)
    with tally:
        clock.now += 2  # the prepare step does not count towards the request rate
        with tally.step("extract"):
            tally.planned("chats_ranking", 100)
            tally.planned("chats_total_chats", 20)
            for attempts in (1, 3, 1):
                tally.request_done("chats_ranking", attempts)
            tally.rows("chats_ranking", 1234)
            tally.rows("chats_tags", 0)
            clock.now += 6  # 3 answers in 6 s: 117 left take 234 s
            snap = tally.snapshot()
            assert (snap.planned, snap.done, snap.retried, snap.rows) == (120, 3, 2, 1234)
            assert snap.eta == 234
            assert describe(snap) == (
                "extract: 3/120 requests (2 retried), 1,234 rows, 8s elapsed, ETA 3m54s"
            )
        with tally.step("load"):
            clock.now += 65
            assert describe(tally.snapshot()) == (
                "load: running for 1m05s, 3/120 requests (2 retried), 1,234 rows, 1m13s elapsed"
            )
    assert tally.rows_by_table() == {"chats_ranking": 1234, "chats_tags": 0}


def test_a_step_start_before_any_plan_has_no_counts() -> None:
    tally = Tally(Clock())
    with tally.step("prepare"):
        assert describe(tally.snapshot(), started=True) == "prepare: started, 0s elapsed"


def test_counts_from_many_threads_add_up() -> None:
    tally = Tally()

    def work() -> None:
        for _ in range(2000):
            tally.request_done("r", 2)
            tally.rows("t", 3)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = tally.snapshot()
    assert (snap.done, snap.retried, snap.rows) == (16000, 16000, 48000)
