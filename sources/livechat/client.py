"""HTTP to the Reports API: POST, retries with backoff, error mapping, a concurrency limit."""

from __future__ import annotations

import contextvars
import datetime as dt
import email.utils
import ipaddress
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from .exceptions import ConfigurationError, LiveChatAPIError

logger = logging.getLogger("livechat_reports")
T = TypeVar("T")

# Where the API lives unless `base_url` says otherwise (the source's and the check's default).
DEFAULT_BASE_URL = "https://api.livechatinc.com"

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
HINTS = {
    401: "Check `account_id` and `personal_access_token` (or `access_token`) in .dlt/secrets.toml.",
    403: "The token needs the `reports_read` scope; create a token with it.",
    400: "The API refused the request as invalid; check filters, timezone and distribution.",
    422: "The API refused the request as invalid; check filters, timezone and distribution.",
    404: "Check `base_url` and `api_version`.",
}


def validate_base_url(base_url: str) -> str:
    """Return the base URL without a trailing slash, refusing plain HTTP except on loopback.

    Raises:
        ConfigurationError: When the URL is not http(s), or is plain http to a non-loopback host.
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"`base_url` must be an http(s) URL like https://api.livechatinc.com; got `{base_url}`"
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"`base_url` `{base_url}` uses plain http to a non-loopback host, which would send the"
            " token in clear text; use https (plain http is allowed only for 127.0.0.1/localhost)"
        )
    return base_url.rstrip("/")


def validate_rehearsal(now: dt.datetime | None, base_url: str) -> None:
    """Refuse a rehearsed clock (`now`) unless the requests go to a server on loopback.

    A rehearsed `now` stamps the requests and decides which days a run calls today; it is meant
    for an emulator with the same clock. Against the real API it would record days as complete
    that are not, so it is refused before any request.

    Raises:
        ConfigurationError: When `now` is set and `base_url` is not on loopback, or `now` has
            no UTC offset.
    """
    if now is None:
        return
    if now.utcoffset() is None:
        raise ConfigurationError(
            f"The rehearsed clock `{now.isoformat()}` has no UTC offset; give one, like"
            " 2026-11-08T06:15:00+00:00"
        )
    host = urlsplit(base_url).hostname or ""
    if not _is_loopback(host):
        raise ConfigurationError(
            f"A rehearsed clock (`{now.isoformat()}`, from LIVECHAT_REPORTS_NOW) is only for an"
            f" emulator on loopback, but `base_url` is `{base_url}`. Unset LIVECHAT_REPORTS_NOW"
            " to load from the real API, or point `base_url` at the emulator"
            " (http://127.0.0.1:PORT)"
        )


def utc_now() -> dt.datetime:
    """The current instant, in UTC: the clock a real run stamps its requests with."""
    return dt.datetime.now(dt.timezone.utc)


def rehearsed_clock(start: dt.datetime) -> Callable[[], dt.datetime]:
    """Return a clock that reads `start` now and runs on from there at the real pace."""
    began = time.monotonic()
    return lambda: start + dt.timedelta(seconds=time.monotonic() - began)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Fetched:
    """A successful answer and how it was obtained.

    Attributes:
        body: The parsed JSON object.
        status: The HTTP status (200).
        attempts: How many times the request was sent.
        seconds: Time from the first attempt to the answer, retries included.
        requested_at: When the first attempt was sent, by the client's clock.
    """

    body: dict[str, Any]
    status: int
    attempts: int
    seconds: float
    requested_at: dt.datetime


@dataclass
class ClientStats:
    """Thread-safe counts of what the client did."""

    requests: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, retry: bool) -> None:
        """Count one HTTP request sent; `retry` when it repeats an earlier one."""
        with self._lock:
            self.requests += 1
            self.retries += int(retry)


class _Retry(Exception):
    """An attempt failed in a way worth retrying."""

    def __init__(
        self, status: int | None, error_type: str | None, message: str, wait: float | None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.wait = wait

    def described(self) -> str:
        """The failure for a log line: the HTTP status and error type when there was one."""
        if self.status is None or self.status == 200:
            return self.message
        kind = f" {self.error_type}" if self.error_type else ""
        return f"HTTP {self.status}{kind}: {self.message}"


class RequestPool:
    """The worker threads and HTTP sessions that requests run on, shareable by many clients.

    The accounts of a shard share one pool, so their requests together stay within one
    concurrency limit and reuse one connection per thread, whatever the number of accounts.
    Each request carries its own account's Authorization header; sessions hold none.
    """

    def __init__(self, max_concurrency: int) -> None:
        self.max_concurrency = max_concurrency
        self._local = threading.local()
        self._lock = threading.Lock()
        self._environment: dict[str, Any] | None = None
        self._executor = ThreadPoolExecutor(
            max_workers=max_concurrency, thread_name_prefix="livechat"
        )

    def session(self, url: str) -> requests.Session:
        """The calling thread's HTTP session (one per worker thread) for requests to `url`.

        The environment's proxy and CA bundle settings for `url` are read once, when the
        pool's first session is made, not on every request as `requests` does by default:
        that reading walks every environment variable, and with thousands of accounts
        configured as variables it cost more than the requests. A `.netrc` entry is not
        read either: each request carries its own account's Authorization header.
        """
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            with self._lock:
                if self._environment is None:
                    self._environment = dict(
                        requests.Session().merge_environment_settings(url, {}, None, None, None)
                    )
                environment: dict[str, Any] = self._environment
            session = requests.Session()
            session.trust_env = False
            session.proxies.update(environment["proxies"])
            session.verify = environment["verify"]
            session.headers.update({"User-Agent": "livechat-reports"})
            self._local.session = session
        return session

    def submit(self, job: Callable[[], T]) -> Future[T]:
        """Run a job on a worker thread, in a copy of the caller's context variables."""
        return self._executor.submit(contextvars.copy_context().run, job)

    def close(self) -> None:
        """Stop the worker threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)


class LiveChatClient:
    """Sends report requests, retrying what is transient, at most `max_concurrency` at a time.

    The Authorization header is held privately and never logged or put in an error message.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        authorization: str,
        max_concurrency: int = 4,
        timeout: float = 60.0,
        max_attempts: int = 6,
        backoff_seconds: float = 1.0,
        max_retry_delay: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], dt.datetime] = utc_now,
        pool: RequestPool | None = None,
    ) -> None:
        """Set up the client; without `pool` it gets a pool of `max_concurrency` threads."""
        self.root = f"{validate_base_url(base_url)}/v{api_version}/reports/"
        self._authorization = authorization
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_retry_delay = max_retry_delay
        self.stats = ClientStats()
        self._sleep = sleep
        self._clock = clock
        self._owns_pool = pool is None
        self._pool = pool or RequestPool(max_concurrency)

    def __repr__(self) -> str:
        return f"LiveChatClient({self.root!r}, max_concurrency={self.max_concurrency})"

    def post(self, report: str, body: dict[str, Any], window: str) -> Fetched:
        """POST one report request, retrying 429, 5xx, timeouts, dropped and garbled answers.

        Args:
            report: The report path, like `chats/total_chats`.
            body: The JSON body (`distribution`, `timezone`, `filters`, ...).
            window: The requested days, for messages.

        Returns:
            The parsed answer.

        Raises:
            LiveChatAPIError: On an answer that must not be retried (401, 403, 4xx, an error
                object in a 200), or when the attempts run out; it names the report, the window
                and the last error.
        """
        started = time.monotonic()
        requested_at = self._clock()
        last: _Retry | None = None
        for attempt in range(1, self.max_attempts + 1):
            self.stats.count(retry=attempt > 1)
            try:
                parsed = self._attempt(report, body, window, attempt)
                return Fetched(parsed, 200, attempt, time.monotonic() - started, requested_at)
            except _Retry as retry:
                last = retry
                if attempt == self.max_attempts:
                    break
                delay = self._delay(attempt, retry.wait)
                logger.warning(
                    "%s for %s: %s; retrying in %.1fs (attempt %d of %d)",
                    report, window, retry.described(), delay, attempt + 1, self.max_attempts,
                )  # fmt: skip
                self._sleep(delay)
        assert last is not None
        raise LiveChatAPIError(
            report,
            window,
            status=last.status,
            error_type=last.error_type,
            api_message=last.message,
            attempts=self.max_attempts,
            hint="The API kept failing; run the load again later (this run committed nothing).",
        )

    def _attempt(
        self, report: str, body: dict[str, Any], window: str, attempt: int
    ) -> dict[str, Any]:
        try:
            response = self._pool.session(self.root).post(
                self.root + report,
                json=body,
                timeout=self.timeout,
                headers={"Authorization": self._authorization},
            )
            text = response.text
        except requests.Timeout as e:
            raise _Retry(None, None, f"no answer within {self.timeout:g}s", None) from e
        except requests.RequestException as e:
            raise _Retry(None, None, f"connection failed ({type(e).__name__})", None) from e
        status = response.status_code
        error_type, message = _error_of(text)
        if status in RETRY_STATUSES:
            wait = _retry_after(response.headers.get("Retry-After"))
            raise _Retry(status, error_type, message or _snippet(text), wait)
        if status != 200:
            raise LiveChatAPIError(
                report,
                window,
                status=status,
                error_type=error_type,
                api_message=message or _snippet(text),
                attempts=attempt,
                hint=HINTS.get(status, ""),
            )
        try:
            parsed = json.loads(text)
        except ValueError as e:
            raise _Retry(
                200, None, f"the answer is not valid JSON (truncated?): {_snippet(text)}", None
            ) from e
        if not isinstance(parsed, dict):
            raise _Retry(200, None, f"the answer is not a JSON object: {_snippet(text)}", None)
        if "error" in parsed:
            raise LiveChatAPIError(
                report,
                window,
                status=200,
                error_type=error_type,
                api_message=message or _snippet(text),
                attempts=attempt,
                hint="The API answered 200 with an error object.",
            )
        return parsed

    def _delay(self, attempt: int, wait: float | None) -> float:
        delay = wait if wait is not None else self.backoff_seconds * 2 ** (attempt - 1)
        return max(0.0, min(delay, self.max_retry_delay))

    def map_ordered(self, jobs: Iterable[Callable[[], T]]) -> Iterator[T]:
        """Run jobs on the shared pool and yield their results in order.

        A few jobs run ahead of the one being consumed so the pool stays busy; the pool's size
        caps the requests in flight across every report. Each job runs in a copy of the
        caller's context, so what the caller's context variables hold (the account a log line
        names) holds in the pool's threads too.
        """
        pending: deque[Future[T]] = deque()
        ahead = self._pool.max_concurrency * 2
        it = iter(jobs)
        try:
            for job in it:
                pending.append(self._pool.submit(job))
                if len(pending) >= ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        """Stop the worker threads, unless the pool is shared (its owner stops it)."""
        if self._owns_pool:
            self._pool.close()


def _error_of(text: str) -> tuple[str | None, str | None]:
    """Return `error.type` and `error.message` of an error body, if it is one."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return None, None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        err = parsed["error"]
        return (str(err.get("type")) if err.get("type") else None), (
            str(err.get("message")) if err.get("message") else None
        )
    return None, None


def _retry_after(value: str | None) -> float | None:
    """Parse a Retry-After header: seconds or an HTTP date."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _snippet(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."
