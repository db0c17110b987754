"""Serve `ReportsAPI` over HTTP on loopback, with switches for latency, rate limits and faults."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .accounts import Accounts
from .app import Answer, ReportsAPI, error

FAULT_KINDS = ("429", "500", "503", "drop", "slow", "malformed", "truncated")
ERROR_FAULTS = {"429": "too_many_requests", "500": "internal", "503": "service_unavailable"}


@dataclass
class Switches:
    """Behaviour at the edges, for tests and benchmarks.

    Attributes:
        latency_ms: Fixed delay before every answer.
        jitter_ms: Extra uniform random delay, up to this many milliseconds.
        rate_limit: Requests per second answered; the rest get 429 `too_many_requests`.
        retry_after: Whether a 429 carries a `Retry-After` header (seconds).
        faults: Probability per fault kind: 429 (too_many_requests without Retry-After), 500,
            503, drop (connection closed without an answer), slow (answer after
            `slow_seconds`), malformed (HTML instead of JSON), truncated (a JSON body cut in
            half).
        fault_seed: Seed of the fault and jitter draws, so a run can be reproduced.
        slow_seconds: How long a `slow` fault waits.
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rate_limit: float | None = None
    retry_after: bool = True
    faults: Mapping[str, float] = field(default_factory=dict)
    fault_seed: int = 0
    slow_seconds: float = 5.0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.faults) - set(FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; valid: {', '.join(FAULT_KINDS)}")
        if sum(self.faults.values()) > 1:
            raise ValueError("fault probabilities add up to more than 1")


def parse_faults(text: str) -> dict[str, float]:
    """Parse `500=0.05,drop=0.01` into a probability per fault kind.

    Raises:
        ValueError: On an unknown kind or a probability outside 0..1.
    """
    faults: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, _, value = part.partition("=")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind `{kind}`; valid: {', '.join(FAULT_KINDS)}")
        probability = float(value)
        if not 0 <= probability <= 1:
            raise ValueError(f"fault probability for `{kind}` must be in 0..1; got {value}")
        faults[kind] = probability
    return faults


class Stats:
    """Thread-safe request counters that tests read.

    Attributes:
        requests: Requests per report path (`chats/total_chats`).
        statuses: Answers per HTTP status.
        faults: Injected faults per kind.
        requests_by_account: Requests per account their credentials name, valid or not
            (unknown credentials count for no account).
        statuses_by_account: Answers per HTTP status, per account.
        statuses_by_report: Answers per HTTP status, per report path (a retried request shows
            as its failed answer and its answer after the retry).
        answer_seconds: Time spent on finished requests, from their headers read to their
            answer written (set latency included), summed: benchmarks divide it by
            `finished` to see whether the emulator kept to its latency.
        finished: Requests finished.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.requests_by_account: Counter[str] = Counter()
        self.statuses_by_account: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self.statuses_by_report: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self.faults: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.answer_seconds = 0.0
        self.finished = 0

    def begin(self, report: str, account: str | None = None) -> None:
        """Count a request that started, for the account its credentials name (if any)."""
        with self._lock:
            self.requests[report] += 1
            if account is not None:
                self.requests_by_account[account] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def answered(
        self,
        status: int | None,
        fault: str | None,
        account: str | None = None,
        report: str | None = None,
    ) -> None:
        """Count how a request is answered (before the answer is sent, so tests see it)."""
        with self._lock:
            if status is not None:
                self.statuses[status] += 1
                if report is not None:
                    self.statuses_by_report[report][status] += 1
                if account is not None:
                    self.statuses_by_account[account][status] += 1
            if fault:
                self.faults[fault] += 1

    def injected(self, fault: str) -> None:
        """Count a fault that does not change the answer's status (a slow answer)."""
        with self._lock:
            self.faults[fault] += 1

    def end(self, seconds: float = 0.0) -> None:
        """Count a request that finished after `seconds`."""
        with self._lock:
            self.in_flight -= 1
            self.answer_seconds += seconds
            self.finished += 1

    def total(self) -> int:
        """Return the number of requests received."""
        with self._lock:
            return sum(self.requests.values())

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self.requests.clear()
            self.statuses.clear()
            self.requests_by_account.clear()
            self.statuses_by_account.clear()
            self.statuses_by_report.clear()
            self.faults.clear()
            self.max_in_flight = self.in_flight
            self.answer_seconds = 0.0
            self.finished = 0


class _Gate:
    """Rate limit, latency and fault draws shared by all handler threads."""

    def __init__(self, switches: Switches) -> None:
        self.switches = switches
        self._lock = threading.Lock()
        self._rng = random.Random(switches.fault_seed)
        self._recent: deque[float] = deque()

    def over_limit(self) -> bool:
        limit = self.switches.rate_limit
        if not limit:
            return False
        with self._lock:
            now = time.monotonic()
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if len(self._recent) >= limit:
                return True
            self._recent.append(now)
            return False

    def draw(self) -> tuple[str | None, float]:
        """Return the fault to inject (or None) and the delay to add, in seconds."""
        s = self.switches
        with self._lock:
            roll = self._rng.random()
            delay = (s.latency_ms + self._rng.random() * s.jitter_ms) / 1000
        for kind in FAULT_KINDS:
            p = s.faults.get(kind, 0.0)
            if roll < p:
                return kind, delay
            roll -= p
        return None, delay


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle and delayed ACKs add
    # ~40 ms to every keep-alive answer.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet; the stats carry what tests need."""

    def do_GET(self) -> None:
        """Answer a GET request."""
        self._serve("GET")

    def do_POST(self) -> None:
        """Answer a POST request."""
        self._serve("POST")

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        emulator = self.server.emulator
        started = time.monotonic()
        report = url.path.rsplit("/reports/", 1)[-1]
        auth = self.headers.get("Authorization")
        account = emulator.api.identify(auth)
        emulator.stats.begin(report, account)
        try:
            if emulator.gate.over_limit():
                headers = {"Retry-After": "1"} if emulator.switches.retry_after else {}
                emulator.stats.answered(429, None, account, report)
                self._send(error(429, "too_many_requests", "Too many requests", **headers))
                return
            fault, delay = emulator.gate.draw()
            if fault == "slow":
                emulator.stats.injected(fault)
                delay += emulator.switches.slow_seconds
            if delay:
                time.sleep(delay)
            if fault == "drop":
                emulator.stats.answered(None, fault, account, report)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault in ERROR_FAULTS:
                emulator.stats.answered(int(fault), fault, account, report)
                self._send(error(int(fault), ERROR_FAULTS[fault], "Injected fault"))
                return
            answer = emulator.api.handle(method, url.path, url.query, auth, body)
            garble = fault in ("malformed", "truncated") and answer.status == 200
            emulator.stats.answered(answer.status, fault if garble else None, account, report)
            if garble and fault == "malformed":
                self._send_raw(200, b"<html><body>Bad gateway</body></html>", "text/html")
            elif garble:
                data = answer.encode()
                self._send_raw(200, data[: len(data) // 2], "application/json")
            else:
                self._send(answer)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            emulator.stats.end(time.monotonic() - started)

    def _send(self, answer: Answer) -> None:
        data = answer.encode()
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    emulator: Emulator


class Emulator:
    """The emulator as a running HTTP server.

    Use it as a context manager (`with Emulator(ReportsAPI(now=...)) as emu: emu.url`), or call
    `start()` and `stop()`. `api` is one account (`ReportsAPI`) or several (`Accounts`, routed by
    credentials). Tests can change `api.now` and `switches` while it runs.
    """

    def __init__(
        self,
        api: ReportsAPI | Accounts | None = None,
        switches: Switches | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.api: ReportsAPI | Accounts = api if api is not None else ReportsAPI()
        self.stats = Stats()
        self._switches = switches or Switches()
        self.gate = _Gate(self._switches)
        self._server = _Server((host, port), _Handler)
        self._server.emulator = self
        self._thread: threading.Thread | None = None

    @property
    def switches(self) -> Switches:
        """The active switches."""
        return self._switches

    @switches.setter
    def switches(self, value: Switches) -> None:
        self._switches = value
        self.gate = _Gate(value)

    @property
    def url(self) -> str:
        """The base URL to point a client at, like `http://127.0.0.1:8123`."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Emulator:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def running_emulator(**options: Any) -> Iterator[Emulator]:
    """Start an emulator on a free loopback port for the duration of a `with` block.

    Keyword arguments go to `ReportsAPI`, except `switches`.
    """
    switches = options.pop("switches", None)
    with Emulator(ReportsAPI(**options), switches) as emulator:
        yield emulator
