"""Show a load's progress: a live bar on a terminal, a log line every few seconds elsewhere.

Requests are what take time, so progress is counted in requests: each report announces its
plan, each answer counts as done. `Tally` keeps the counts (and the rows per table that the
closing summary prints); `BarProgress` and `LogProgress` show them, and a timer keeps both
alive while no request completes (a slow answer, the normalize and load steps).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TextIO

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from sources.livechat.progress import Progress

logger = logging.getLogger("livechat_reports")

LOG_INTERVAL_SECONDS = 10.0
BAR_REFRESH_SECONDS = 0.5
EXTRACT = "extract"


@dataclass(frozen=True)
class Snapshot:
    """The counts at one moment.

    Attributes:
        step: The running step (`prepare`, `extract`, `normalize`, `load`, `transform`).
        planned: Requests planned so far (reports announce their plans as they start).
        done: Planned requests answered.
        retried: Extra attempts those answers took.
        rows: Real rows yielded, placeholders excluded.
        elapsed: Seconds since the run started.
        step_elapsed: Seconds since the running step started.
        eta: Seconds until the planned requests are done at the rate so far; None outside the
            extract step or before the first answer.
    """

    step: str
    planned: int
    done: int
    retried: int
    rows: int
    elapsed: float
    step_elapsed: float
    eta: float | None


class Tally(Progress):
    """Counts the source's progress events; thread-safe, silent on its own.

    Use it as a context manager around the load; `step` marks what the run is doing.
    Subclasses show the counts: they override the `_on_*` hooks, which run under the lock.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._started = self._step_started = clock()
        self._step = "prepare"
        self._planned = self._done = self._retried = 0
        self._rows: dict[str, int] = {}

    def planned(self, report: str, requests: int) -> None:
        """Count `requests` more planned requests."""
        with self._lock:
            self._planned += requests
            self._on_change(planned=True)

    def request_done(self, report: str, attempts: int) -> None:
        """Count one answered request and its retries."""
        with self._lock:
            self._done += 1
            self._retried += max(0, attempts - 1)
            self._on_change(planned=False)

    def rows(self, table: str, count: int) -> None:
        """Count real rows of `table`."""
        with self._lock:
            self._rows[table] = self._rows.get(table, 0) + count
            self._on_change(planned=False)

    def rows_by_table(self) -> dict[str, int]:
        """Return the real rows yielded per table, by table name."""
        with self._lock:
            return dict(sorted(self._rows.items()))

    def snapshot(self) -> Snapshot:
        """Return the counts now."""
        with self._lock:
            now = self._clock()
            eta = None
            if self._step == EXTRACT and self._done:
                rate = self._done / max(now - self._step_started, 1e-9)
                eta = max(0, self._planned - self._done) / rate
            return Snapshot(
                step=self._step,
                planned=self._planned,
                done=self._done,
                retried=self._retried,
                rows=sum(self._rows.values()),
                elapsed=now - self._started,
                step_elapsed=now - self._step_started,
                eta=eta,
            )

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Mark `name` as the running step for the duration of the block."""
        with self._lock:
            self._step, self._step_started = name, self._clock()
            self._on_step(started=True)
        try:
            yield
        finally:
            with self._lock:
                self._on_step(started=False)

    def __enter__(self) -> Tally:
        with self._lock:
            self._started = self._step_started = self._clock()
        self._start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop()

    def _start(self) -> None:
        """Start showing; called on entering the context."""

    def _stop(self) -> None:
        """Stop showing and release everything; called on leaving, even after an error."""

    def _on_change(self, planned: bool) -> None:
        """A count changed (`planned`: the plan grew)."""

    def _on_step(self, started: bool) -> None:
        """The current step started or ended."""


class _Ticker:
    """Calls `tick` every `interval` seconds on a daemon thread until stopped."""

    def __init__(self, interval: float, tick: Callable[[], None]) -> None:
        self._interval = interval
        self._tick = tick
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="livechat-progress", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            self._tick()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()


def _duration(seconds: float) -> str:
    """`7s`, `1m40s`, `2h05m`."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def describe(snapshot: Snapshot, started: bool = False) -> str:
    """One log line: step, requests done of planned, retries, rows, elapsed, ETA."""
    s = snapshot
    parts = ["started"] if started else []
    if not started and s.step != EXTRACT:
        parts.append(f"running for {_duration(s.step_elapsed)}")
    if s.planned:
        parts.append(f"{s.done}/{s.planned} requests ({s.retried} retried), {s.rows:,} rows")
    parts.append(f"{_duration(s.elapsed)} elapsed")
    if s.eta is not None:
        parts.append(f"ETA {_duration(s.eta)}")
    return f"{s.step}: {', '.join(parts)}"


class LogProgress(Tally):
    """Logs the counts when each step starts and every `interval` seconds (for cron logs).

    A timer writes the line, so one appears even while no request completes.
    """

    def __init__(
        self, interval: float = LOG_INTERVAL_SECONDS, log: logging.Logger = logger
    ) -> None:
        super().__init__()
        self._log = log
        self._ticker = _Ticker(interval, self._tick)

    def _start(self) -> None:
        self._ticker.start()

    def _stop(self) -> None:
        self._ticker.stop()

    def _tick(self) -> None:
        self._log.info(describe(self.snapshot()))

    def _on_step(self, started: bool) -> None:
        if started:
            self._log.info(describe(self.snapshot(), started=True))


REQUESTS_BAR = (
    "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} requests"
    " [{elapsed}<{remaining}{postfix}]"
)
STEP_BAR = "{desc}: {elapsed}"


class BarProgress(Tally):
    """A live tqdm bar of requests done/planned with rows and ETA, then one line per step.

    Log records are written above the bar instead of through it while it runs.
    """

    def __init__(self, stream: TextIO, refresh_seconds: float = BAR_REFRESH_SECONDS) -> None:
        super().__init__()
        self._stream = stream
        self._bar: tqdm[Any] | None = None
        self._ticker = _Ticker(refresh_seconds, self._tick)
        self._redirect: AbstractContextManager[None] | None = None

    def _start(self) -> None:
        if any(_is_console(h) for h in logging.root.handlers):
            # Log lines go above the bar instead of through it (tqdm swaps the handler).
            self._redirect = logging_redirect_tqdm()
            self._redirect.__enter__()
        self._ticker.start()

    def _stop(self) -> None:
        self._ticker.stop()
        with self._lock:
            self._close_bar()
        if self._redirect is not None:
            self._redirect.__exit__(None, None, None)
            self._redirect = None

    def _tick(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.refresh()

    def _on_step(self, started: bool) -> None:
        self._close_bar()
        if not started:
            return
        if self._step == EXTRACT:
            self._bar = tqdm(
                total=self._planned or None,
                desc=EXTRACT,
                bar_format=REQUESTS_BAR,
                file=self._stream,
                smoothing=0,  # the ETA from the average rate: answers come in bursts
                dynamic_ncols=True,
            )
        else:
            self._bar = tqdm(desc=self._step, bar_format=STEP_BAR, file=self._stream)

    def _on_change(self, planned: bool) -> None:
        bar = self._bar
        if bar is None or self._step != EXTRACT:
            return
        rows = sum(self._rows.values())
        retried = f", {self._retried} retried" if self._retried else ""
        bar.set_postfix_str(f"{rows:,} rows{retried}", refresh=False)
        if planned:
            bar.total = self._planned
            bar.refresh()
        else:
            bar.update(self._done - bar.n)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _is_console(handler: logging.Handler) -> bool:
    stream = getattr(handler, "stream", None)
    return isinstance(handler, logging.StreamHandler) and stream in (sys.stdout, sys.stderr)


def progress_for(stream: TextIO) -> Tally:
    """Return a bar for a terminal, log lines for anything else (a file, a pipe, cron).

    The log interval is read from `LOG_INTERVAL_SECONDS` at each call.
    """
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return BarProgress(stream)
    return LogProgress(LOG_INTERVAL_SECONDS)


class Fanout(Progress):
    """Tells every one of several receivers each event (a run's tally and an account's own)."""

    def __init__(self, *receivers: Progress) -> None:
        self._receivers = receivers

    def planned(self, report: str, requests: int) -> None:
        """Tell each receiver."""
        for receiver in self._receivers:
            receiver.planned(report, requests)

    def request_done(self, report: str, attempts: int) -> None:
        """Tell each receiver."""
        for receiver in self._receivers:
            receiver.request_done(report, attempts)

    def rows(self, table: str, count: int) -> None:
        """Tell each receiver."""
        for receiver in self._receivers:
            receiver.rows(table, count)
