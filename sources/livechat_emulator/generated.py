"""Thousands of accounts from a rule, each built on its first request.

Account `i` (0-based, `0 <= i < count`) of prefix `acct` has the id `acct<i>` in plain decimal
without padding (`acct0`, `acct7`, `acct1999`), the personal access token `token-<id>`
(`token-acct7`), the seed `i`, and the license timezone the router is given (UTC by default)
for every account. `generated_account(i, prefix)` gives that spec, so clients compute the
credentials the emulator expects. `GeneratedAccounts` answers like `Accounts` over the same
specs, but builds an account's `ReportsAPI` only when a request (or `revoke`) first names it,
so starting it and routing a request cost the same for 10 or 10,000 accounts.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator

from . import license
from .accounts import Accounts, AccountSpec, account_api
from .app import ReportsAPI, parse_authorization

DEFAULT_PREFIX = "acct"
# An id is the prefix and the index in plain decimal; the prefix cannot hold `:` (it ends the
# Basic user name), `,` or spaces, so it can be written on a command line.
_PREFIX = re.compile(r"[^\s:,]+")
_INDEX = re.compile(r"0|[1-9][0-9]{0,17}", re.ASCII)


def validate_prefix(prefix: str) -> str:
    """Return the prefix when it can start account ids.

    Raises:
        ValueError: For an empty prefix or one with `:`, `,` or white space.
    """
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(
            f"the account prefix must be non-empty, without `:`, `,` or spaces; got `{prefix}`"
        )
    return prefix


def generated_account(
    index: int, prefix: str = DEFAULT_PREFIX, timezone: str = "UTC"
) -> AccountSpec:
    """Return the spec of generated account `index` (0-based).

    Args:
        index: The account's position, 0 for the first.
        prefix: The start of every generated id.
        timezone: The license timezone (the same for every generated account).

    Returns:
        `AccountSpec(f"{prefix}{index}", f"token-{prefix}{index}", index, timezone)`.

    Raises:
        ValueError: For a negative index or an invalid prefix.
    """
    if index < 0:
        raise ValueError(f"account indexes start at 0; got {index}")
    account_id = f"{validate_prefix(prefix)}{index}"
    return AccountSpec(account_id, f"token-{account_id}", index, timezone)


def generated_index(account_id: str, prefix: str = DEFAULT_PREFIX) -> int | None:
    """Return the index an id has under the rule (`acct12` -> 12), or None if it has none.

    Only the canonical form counts: `acct012` and `acct+1` name no account.
    """
    if not account_id.startswith(prefix):
        return None
    digits = account_id[len(prefix) :]
    return int(digits) if _INDEX.fullmatch(digits) else None


class GeneratedAccounts(Accounts):
    """`count` accounts of `generated_account(i, prefix, timezone)`, built on first use.

    Usable wherever `Accounts` is: `Emulator(GeneratedAccounts(2000, now=t))`. Credentials are
    Basic only (`acct7:token-acct7`); a Basic user outside the range, or any Bearer token,
    names no account and gets 401. `revoke`, `restore` and the shared clock `now` work for
    every account, built or not. Iterating yields the accounts built so far. Each built
    account stays (a `ReportsAPI` holds no data; the days it generates are in the bounded
    cache of `license.generate_day`, shared by all accounts).
    """

    def __init__(
        self,
        count: int,
        prefix: str = DEFAULT_PREFIX,
        *,
        now: float | None = None,
        license_start: dt.date | None = None,
        timezone: str = "UTC",
        page_size: int = 25,
    ) -> None:
        """Hold the rule; no account is built yet.

        Raises:
            ValueError: For a count below 1 or an invalid prefix.
        """
        if count < 1:
            raise ValueError(f"the number of generated accounts must be at least 1; got {count}")
        self.count = count
        self.prefix = validate_prefix(prefix)
        self.timezone = timezone
        self._now = now
        self._license_start = license_start
        self._page_size = page_size
        self._accounts: dict[str, ReportsAPI] = {}
        self._lock = threading.Lock()

    def describe(self) -> str:
        """Say which accounts there are, like `acct0..acct1999 (2000 accounts)`."""
        return f"{self.prefix}0..{self.prefix}{self.count - 1} ({self.count} accounts)"

    def index(self, account_id: str) -> int | None:
        """Return the index of one of these accounts, or None for any other id."""
        index = generated_index(account_id, self.prefix)
        return index if index is not None and index < self.count else None

    def __iter__(self) -> Iterator[ReportsAPI]:
        """Iterate over the accounts built so far (a snapshot)."""
        with self._lock:
            return iter(list(self._accounts.values()))

    def __getitem__(self, account_id: str) -> ReportsAPI:
        """Return one account by id, building it on first use.

        Raises:
            KeyError: For an id outside the rule or the range.
        """
        api = self._accounts.get(account_id)
        if api is not None:
            return api
        index = self.index(account_id)
        if index is None:
            raise KeyError(f"no account `{account_id}`; accounts: {self.describe()}")
        with self._lock:
            api = self._accounts.get(account_id)
            if api is None:
                api = self._build(index)
                self._accounts[account_id] = api
            return api

    def _build(self, index: int) -> ReportsAPI:
        spec = generated_account(index, self.prefix, self.timezone)
        return account_api(
            spec, now=self._now, license_start=self._license_start, page_size=self._page_size
        )

    def generate(self, first: dt.date, last: dt.date) -> int:
        """Generate every account's UTC days from `first` through `last` now, and keep them.

        Requests for those days then cost the emulator no generation (~2 ms a day), so that on
        a busy machine it answers in its set latency rather than in its CPU time: benchmarks
        call this before they time a load. The shared day cache grows to hold them all
        (~70 KB a day).

        Returns:
            The number of days generated: none before an account's license start or after the
            day of its clock (requests never reach those).
        """
        days = (last - first).days + 1
        license.keep_days(max(license.DAYS_KEPT, self.count * days))
        generated = 0
        for index in range(self.count):
            api = self[f"{self.prefix}{index}"]
            now = api.clock()
            today = dt.datetime.fromtimestamp(now, dt.timezone.utc).date()
            generated += len(api.license(now).days(first, min(last, today)))
        return generated

    @property
    def now(self) -> float | None:
        """The clock of every account, built or not (None follows the real time)."""
        return self._now

    @now.setter
    def now(self, value: float | None) -> None:
        with self._lock:
            self._now = value
            for api in self._accounts.values():
                api.now = value

    def identify(self, header: str | None) -> str | None:
        """Return the account a Basic user name names (valid token or not), or None."""
        scheme, credentials = parse_authorization(header or "")
        if scheme != "basic":
            return None
        user = credentials.partition(":")[0]
        return user if self.index(user) is not None else None
