"""One load of several accounts: each fetched whole, a few at once, then handed to dlt together.

A shard is the accounts one pipeline loads in one run. Their requests share one pool (the
run's concurrency limit); each account is fetched completely (every report it loads) before any
of its rows reaches dlt, so an account whose requests fail, or whose token was revoked, adds no
row and moves no cursor, while the shard's other accounts load. The rows of all accounts go
through one extract, one normalize and one load: one load job and one merge per table, the
merge scoped to exactly the (account, days) windows that were fetched (`merge.merge_of`).

Each account's cursors come from the dataset (`account_cursors`, read by the caller before
the run and given as a `CursorBook`) and go back to it with the rows, so they do not depend on
which shard loads the account.
"""

from __future__ import annotations

import contextvars
import copy
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import dlt

from .client import LiveChatClient, RequestPool
from .credentials import LiveChatCredentials
from .cursors import CURSORS_COLUMNS, CURSORS_KEY, CURSORS_TABLE, cursor_row
from .directory import GroupDirectory
from .extract import ReportRows, report_rows
from .flatten import Row
from .lineage import LINEAGE_COLUMNS, LINEAGE_TABLE
from .meaning import ACCOUNTS_COLUMNS, ACCOUNTS_TABLE, account_load_row
from .merge import table_hints
from .options import AccountOverrides
from .progress import Progress
from .reports import ReportSpec
from .settings import Settings

logger = logging.getLogger("livechat_reports")

# The account whose reports the current thread fetches (and the requests it runs on the pool,
# which run in a copy of its context), for log lines that name it.
CURRENT_ACCOUNT: ContextVar[str | None] = ContextVar("livechat_account", default=None)


@dataclass(frozen=True)
class Account:
    """One account to load: who it is, its credentials, and settings of its own.

    Attributes:
        name: How people call it (its configuration section; the account id for the one
            account of `[sources.livechat.credentials]`).
        credentials: Its personal access token or OAuth token.
        overrides: Its own timezone, filters, start_date or group breakdown, which win over
            the run's configuration (not over settings the run was given).
        named_in_logs: Whether the lines logged while it loads name it (`CURRENT_ACCOUNT`);
            the one account of a plain load is not named.
    """

    name: str
    credentials: LiveChatCredentials
    overrides: AccountOverrides = field(default_factory=AccountOverrides)
    named_in_logs: bool = True

    @property
    def account_id(self) -> str:
        """The LiveChat account id (the rows' `account_id`)."""
        return str(self.credentials.account_id)


class CursorBook:
    """Each account's report cursors as the run begins, read from the dataset by the caller.

    It is filled after the pipeline is synced with its destination (and before extraction);
    an account it does not know starts from its `start_date`.
    """

    def __init__(self, states: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None):
        self._states: dict[str, dict[str, dict[str, Any]]] = {}
        self.fill(states or {})

    def fill(self, states: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> None:
        """Set the cursors: account id -> report -> cursor state."""
        self._states = {a: {r: dict(s) for r, s in by.items()} for a, by in states.items()}

    def states(self, account_id: str) -> dict[str, dict[str, Any]]:
        """A copy of one account's cursor states, report by report."""
        return copy.deepcopy(self._states.get(account_id, {}))


@dataclass(frozen=True)
class AccountRun:
    """One account of a run: its name, validated settings and HTTP client.

    Attributes:
        name: How people call it (its configuration section, or its account id).
        settings: Its validated settings.
        client: Its client (its own Authorization header, the shard's shared pool).
        progress: Told its planned and answered requests and its rows.
    """

    name: str
    settings: Settings
    client: LiveChatClient
    progress: Progress
    named_in_logs: bool = False

    @property
    def account_id(self) -> str:
        """The LiveChat account id (the rows' `account_id`)."""
        return self.settings.account_id


@dataclass
class AccountOutcome:
    """What fetching one account gave: its rows per report and cursors, or why it failed.

    Attributes:
        account: The account.
        reports: Rows per report (resource name); each report takes its own out when it
            hands them to dlt, so they are freed as the run goes.
        cursors: The account's cursor state per report after this run (to record).
        error: What the fetch failed with, or None.
        seconds: How long the fetch took.
    """

    account: AccountRun
    reports: dict[str, ReportRows] = field(default_factory=dict)
    cursors: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: BaseException | None = None
    seconds: float = 0.0


def fetch_account(
    account: AccountRun, cursors: CursorBook, stopped: threading.Event | None = None
) -> AccountOutcome:
    """Fetch every report of one account for the run; a failure is kept, not raised.

    When `stopped` is set (the run was interrupted), no further report is asked for.
    """
    started = time.monotonic()
    token = CURRENT_ACCOUNT.set(account.name if account.named_in_logs else None)
    outcome = AccountOutcome(account)
    try:
        for name, (rows, state) in fetch_reports(account, cursors, stopped).items():
            if rows is not None:
                outcome.reports[name] = rows
                outcome.cursors[name] = state
    except Exception as error:  # kept per account: the shard's other accounts go on
        logger.debug("account %s failed", account.name, exc_info=True)
        outcome.error = error
    finally:
        CURRENT_ACCOUNT.reset(token)
    outcome.seconds = time.monotonic() - started
    return outcome


def fetch_reports(
    account: AccountRun, cursors: CursorBook, stopped: threading.Event | None = None
) -> dict[str, tuple[ReportRows | None, dict[str, Any]]]:
    """Fetch an account's reports, several at once; return each one's rows and cursor state.

    The first report is asked for alone: an account whose token was revoked, or an API that
    does not answer, fails it and makes one request (and one series of retries), not one per
    report at once. The others are then asked for concurrently, as many as the account's
    client has request slots, so that reports of one request each (most of a daily run) do not
    wait for one another; their requests share the client's pool, which caps the requests in
    flight. After a report fails, no report not yet begun is asked for, and the first failure
    in registry order is raised once the reports in flight are done.

    Returns:
        Rows (None when a report had nothing to load) and the report's cursor state after
        this run, per report name, in registry order.

    Raises:
        Exception: What the first failing report raised (`RunStopped` when `stopped` was set).
    """
    settings = account.settings
    states = cursors.states(account.account_id)
    before = copy.deepcopy(states)
    specs = list(settings.resources)
    for spec in specs:
        states.setdefault(spec.name, {})
    directory = (
        GroupDirectory(settings, account.client, account.progress) if settings.grouped else None
    )
    failed = threading.Event()

    def one(spec: ReportSpec) -> ReportRows | None:
        if stopped is not None and stopped.is_set():
            raise RunStopped(f"the run stopped before {spec.name} of {account.name}")
        if failed.is_set():
            return None  # not asked for: the account failed already
        try:
            return report_rows(
                spec, settings, account.client, states[spec.name], before, account.progress,
                directory,
            )  # fmt: skip
        except BaseException:
            failed.set()
            raise

    if not specs:
        return {}
    first: Future[ReportRows | None] = Future()
    try:
        first.set_result(one(specs[0]))
    except Exception as failure:
        first.set_exception(failure)
    rest = specs[1:]
    workers = max(1, min(len(rest), account.client.max_concurrency))
    with ThreadPoolExecutor(workers, thread_name_prefix="report") as executor:
        futures = [first] + [
            executor.submit(contextvars.copy_context().run, one, spec) for spec in rest
        ]
    errors = [error for f in futures if (error := f.exception()) is not None]
    if errors:
        raise errors[0]
    answers = zip(specs, futures, strict=True)
    return {spec.name: (future.result(), states[spec.name]) for spec, future in answers}


class RunStopped(Exception):
    """The run was stopped (interrupted) while this account was being fetched."""


class FetchSlots:
    """How many shards of a process start fetching accounts at once, whatever the number loading.

    A shard takes a slot when its first account starts and gives it back when its last account
    starts (`ShardFetch`): the next shard's accounts then fill the request pool while its last
    ones finish, and its normalize and load steps, which take turns with the other shards'
    (`load_lock`), overlap the next shard's requests instead of waiting for them. Without
    slots (one shard, Dagster) a shard fetches as soon as it runs. See `SharedFetching`.
    """

    def __init__(self, slots: int) -> None:
        self._slots = threading.Semaphore(slots)

    def take(self, stopped: threading.Event) -> bool:
        """Wait for a slot; False when the run stopped first."""
        while not self._slots.acquire(timeout=0.5):
            if stopped.is_set():
                return False
        return True

    def give(self) -> None:
        """Give a slot back."""
        self._slots.release()


@dataclass
class SharedFetching:
    """What the shards one process loads share while they fetch.

    Attributes:
        slots: One: shards take turns fetching, on the whole pool. A shard's rows are held
            from its fetch until they are extracted, and the memory they leave behind stays
            with the process, so shards fetching side by side raise its peak with nothing
            gained: the pool, not the number of shards, limits the requests. (1,000 accounts
            in 10 shards peaked at 352 MB with four fetching at once and 334 MB with one, in
            165.5 s and 161.4 s; 100 accounts in one shard, 229 MB.)
        pool: The requests in flight over all shards: `max_concurrency` for each shard the
            process runs at once, which one shard's accounts use whole.
    """

    slots: FetchSlots
    pool: RequestPool

    @classmethod
    def of(cls, shards_at_once: int, max_concurrency: int) -> SharedFetching:
        """One fetch slot, and a pool of `max_concurrency` requests per shard run at once."""
        return cls(FetchSlots(1), RequestPool(shards_at_once * max_concurrency))

    def close(self) -> None:
        """Stop the pool's worker threads (after every shard's fetch ended)."""
        self.pool.close()


class ShardFetch:
    """Fetches the accounts of a run, `concurrency` at a time, and serves their outcomes in order.

    Every resource of the run walks the same outcomes in account order (`outcomes`); the first
    walk starts the fetches. Accounts are fetched in worker threads of their own; their
    requests run on the shared request pool, so the pool's size limits requests in flight
    whatever the number of accounts fetching.
    """

    def __init__(
        self,
        accounts: Sequence[AccountRun],
        cursors: CursorBook,
        concurrency: int,
        pool: RequestPool | None = None,
        on_done: Callable[[AccountOutcome], object] | None = None,
        shared: SharedFetching | None = None,
    ) -> None:
        self.accounts = list(accounts)
        self._pool = pool
        self._shared = shared  # its pool is the shards', closed by whoever made it
        self._stopped = threading.Event()
        self._cursors = cursors
        self._concurrency = concurrency
        self._on_done = on_done
        self._lock = threading.Lock()
        self._futures: list[Future[AccountOutcome]] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._slot: FetchSlots | None = None  # where the slot this shard holds goes back
        self._unstarted = len(self.accounts)  # accounts whose fetch has not begun

    def _start(self) -> list[Future[AccountOutcome]]:
        with self._lock:
            if self._futures is None:
                slots = self._shared.slots if self._shared is not None else None
                if slots is not None and self._unstarted and slots.take(self._stopped):
                    self._slot = slots
                self._executor = ThreadPoolExecutor(
                    max_workers=self._concurrency, thread_name_prefix="account"
                )
                self._futures = [
                    self._executor.submit(self._fetch, account) for account in self.accounts
                ]
            return self._futures

    def _fetch(self, account: AccountRun) -> AccountOutcome:
        with self._lock:
            self._unstarted -= 1
            if self._unstarted == 0:  # the last account begins: the next shard may start
                self._give_slot()
        outcome = fetch_account(account, self._cursors, self._stopped)
        if self._on_done is not None:
            self._on_done(outcome)
        return outcome

    def _give_slot(self) -> None:
        if self._slot is not None:
            self._slot.give()
            self._slot = None

    def outcomes(self) -> Iterator[AccountOutcome]:
        """Each account's outcome, in account order, as soon as it is in."""
        for future in self._start():
            yield future.result()

    def results(self) -> list[AccountOutcome]:
        """Every outcome (after the run: the fetches are done)."""
        return [future.result() for future in self._start()]

    def close(self) -> None:
        """Stop fetching: no account or report not yet begun is asked for, and the pool stops.

        After a finished run this only releases the threads. After an interrupted one, the
        requests not yet sent are cancelled and the fetches still running end at once (their
        requests in flight are waited for), so nothing is logged after the run's last word.
        """
        self._stopped.set()
        if self._pool is not None and self._shared is None:
            self._pool.close()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            self._give_slot()  # fetches cancelled before they began never gave it


def report_batches(spec: ReportSpec, fetch: ShardFetch) -> Iterator[Any]:
    """The resource body of a report: every loaded account's rows, with the run's merge.

    Each table's first batch carries its hints (columns, key, merge); the last batch carries
    them again with the merge scoped to every account loaded, which is the scope dlt keeps (the
    last hints of a table win), so an account that failed or loaded nothing is never deleted.
    """
    tables = {t.name: t for t in spec.tables}
    loaded: list[tuple[Settings, Any]] = []
    held: dict[str, list[Row]] = {}  # each table's latest batch, held back to carry the hints
    hinted: set[str] = set()
    for outcome in fetch.outcomes():
        rows = outcome.reports.pop(spec.name, None)
        if rows is None:
            continue
        loaded.append((outcome.account.settings, rows.replaced))
        for name, batch in rows.batches:
            if name not in hinted:
                hinted.add(name)
                yield _hinted(spec, tables, name, batch, loaded)
                continue
            if name in held:
                yield dlt.mark.with_table_name(held[name], name)
            held[name] = batch
    for name, batch in held.items():
        yield _hinted(spec, tables, name, batch, loaded)


def _hinted(
    spec: ReportSpec,
    tables: Mapping[str, Any],
    name: str,
    rows: list[Row],
    loaded: Sequence[tuple[Settings, Any]],
) -> Any:
    """Rows with their table's hints (every table is a variant of the report's resource)."""
    if name == LINEAGE_TABLE:
        hints = dlt.mark.make_hints(
            table_name=LINEAGE_TABLE, write_disposition="append", columns=LINEAGE_COLUMNS
        )
    else:
        hints = table_hints(spec, tables[name], loaded)
    return dlt.mark.with_hints(rows, hints, create_table_variant=True)


def account_loads(
    fetch: ShardFetch, configured_accounts: Sequence[str], clock: Callable[[], Any]
) -> Iterator[list[Row]]:
    """The `account_loads` row of every account loaded: its meaning, and when.

    The first account's row also lists the configured accounts (once per load, not per row).
    """
    listed: Sequence[str] | None = configured_accounts
    for outcome in fetch.outcomes():
        if outcome.error is None:
            settings = outcome.account.settings
            outcome.account.progress.rows("account_loads", 1)
            yield [account_load_row(settings.meaning, listed, clock())]
            listed = None


def account_cursors(fetch: ShardFetch) -> Iterator[list[Row]]:
    """The `account_cursors` rows of every account loaded: one per report it loaded."""
    for outcome in fetch.outcomes():
        if outcome.error is None and outcome.cursors:
            rows = [
                cursor_row(outcome.account.account_id, report, state)
                for report, state in outcome.cursors.items()
            ]
            outcome.account.progress.rows(CURSORS_TABLE, len(rows))
            yield rows


def shard_resources(
    fetch: ShardFetch,
    specs: Sequence[ReportSpec],
    configured_accounts: Sequence[str],
    clock: Callable[[], Any],
) -> Iterator[Any]:
    """The run's resources: one per report any account loads, then the accounts' records."""
    for spec in specs:
        yield dlt.resource(report_batches, name=spec.name, max_table_nesting=0)(spec, fetch)
    yield dlt.resource(
        account_loads,
        name=ACCOUNTS_TABLE,
        write_disposition="append",
        columns=ACCOUNTS_COLUMNS,
        max_table_nesting=0,
    )(fetch, configured_accounts, clock)
    yield dlt.resource(
        account_cursors,
        name=CURSORS_TABLE,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=list(CURSORS_KEY),
        columns=CURSORS_COLUMNS,
        max_table_nesting=0,
    )(fetch)
