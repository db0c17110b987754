"""Several LiveChat accounts behind one emulator: the credentials pick the account that answers.

Each account is a `ReportsAPI` with its own id, tokens, seed and timezone, so each has its own
deterministic data. A Basic `account_id:token` or a Bearer token selects the account; credentials
that match no account get 401 like a wrong token does. `revoke(account_id)` makes one account's
tokens fail at run time while the others keep answering.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .app import Answer, ReportsAPI, error, unknown_path

ACCOUNT_SYNTAX = "ID:TOKEN:SEED[:TIMEZONE]"


class Accounts:
    """Route each request to the account its credentials name.

    Example: `Emulator(Accounts(ReportsAPI(account_id="acme", personal_access_token="a",
    seed=1, now=t), ReportsAPI(account_id="globex", personal_access_token="b", seed=2, now=t,
    bearer_token=None)))`.
    """

    def __init__(self, *accounts: ReportsAPI) -> None:
        """Hold the accounts.

        Raises:
            ValueError: With no account, two accounts with one id, or one token in two accounts
                (a Bearer token must name a single account).
        """
        if not accounts:
            raise ValueError("Accounts needs at least one account")
        self._accounts: dict[str, ReportsAPI] = {}
        owners: dict[str, str] = {}
        for api in accounts:
            if api.account_id in self._accounts:
                raise ValueError(f"two accounts have the id `{api.account_id}`")
            self._accounts[api.account_id] = api
            for token in (api.bearer_token, api.unscoped_token):
                if token is None:
                    continue
                if token in owners:
                    raise ValueError(
                        f"accounts `{owners[token]}` and `{api.account_id}` share a Bearer"
                        " token; give each account its own (or None)"
                    )
                owners[token] = api.account_id

    def __iter__(self) -> Iterator[ReportsAPI]:
        return iter(self._accounts.values())

    def __getitem__(self, account_id: str) -> ReportsAPI:
        """Return one account by id.

        Raises:
            KeyError: Naming the known accounts.
        """
        try:
            return self._accounts[account_id]
        except KeyError:
            known = ", ".join(self._accounts)
            raise KeyError(f"no account `{account_id}`; accounts: {known}") from None

    @property
    def now(self) -> float | None:
        """The clock of the first account (setting it sets every account's clock)."""
        return next(iter(self._accounts.values())).now

    @now.setter
    def now(self, value: float | None) -> None:
        for api in self._accounts.values():
            api.now = value

    def revoke(self, account_id: str) -> None:
        """Revoke one account's tokens: its requests get 401, the other accounts still answer."""
        self[account_id].revoke()

    def restore(self, account_id: str) -> None:
        """Make one account's tokens valid again."""
        self[account_id].restore()

    def identify(self, header: str | None) -> str | None:
        """Return the account the credentials name (valid or not), or None."""
        for api in self._accounts.values():
            account = api.identify(header)
            if account is not None:
                return account
        return None

    def handle(self, method: str, path: str, query: str, auth: str | None, body: bytes) -> Answer:
        """Answer one request as the account its credentials name (see `ReportsAPI.handle`)."""
        account = self.identify(auth)
        if account is None:
            # Credentials of no account: answered like a wrong token of a single account.
            if not auth:
                return unknown_path(path) or error(
                    401, "authentication", "Missing Authorization header"
                )
            return unknown_path(path) or error(401, "authentication", "Invalid access token")
        return self[account].handle(method, path, query, auth, body)


@dataclass(frozen=True)
class AccountSpec:
    """One account of the command line's `--accounts`."""

    account_id: str
    personal_access_token: str
    seed: int
    timezone: str | None = None


def parse_accounts(text: str) -> list[AccountSpec]:
    """Parse `acme:tokenA:1,globex:tokenB:2:Europe/Warsaw` into account specs.

    Raises:
        ValueError: Saying which entry is wrong and what the syntax is.
    """
    specs: list[AccountSpec] = []
    for entry in filter(None, (e.strip() for e in text.split(","))):
        parts = entry.split(":")
        if len(parts) not in (3, 4) or not all(parts):
            raise ValueError(
                f"account `{entry}` must be {ACCOUNT_SYNTAX}, like acme:tokenA:1 or"
                " globex:tokenB:2:Europe/Warsaw"
            )
        account_id, token, seed_text = parts[:3]
        if not re.fullmatch(r"-?\d+", seed_text):
            raise ValueError(
                f"account `{account_id}`: the seed must be an integer; got `{seed_text}`"
            )
        timezone = parts[3] if len(parts) == 4 else None
        if timezone is not None:
            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"account `{account_id}`: `{timezone}` is not an IANA time zone name,"
                    " like Europe/Warsaw"
                ) from None
        specs.append(AccountSpec(account_id, token, int(seed_text), timezone))
    if not specs:
        raise ValueError(f"--accounts needs at least one {ACCOUNT_SYNTAX}")
    ids = [s.account_id for s in specs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"account ids must differ; repeated: {', '.join(duplicates)}")
    return specs


def build_accounts(
    specs: Iterable[AccountSpec],
    *,
    now: float | None = None,
    license_start: dt.date | None = None,
    timezone: str = "UTC",
    page_size: int = 25,
) -> Accounts:
    """Build the router for account specs, sharing one clock, license start and page size.

    `timezone` is the license timezone of accounts whose spec names none. The accounts answer
    Basic auth only: the command line gives them no Bearer tokens.
    """
    return Accounts(
        *(
            account_api(
                spec, now=now, license_start=license_start, timezone=timezone, page_size=page_size
            )
            for spec in specs
        )
    )


def account_api(
    spec: AccountSpec,
    *,
    now: float | None = None,
    license_start: dt.date | None = None,
    timezone: str = "UTC",
    page_size: int = 25,
) -> ReportsAPI:
    """Build the `ReportsAPI` of one account spec (Basic auth only, no Bearer token).

    `timezone` is the license timezone when the spec names none.
    """
    return ReportsAPI(
        seed=spec.seed,
        now=now,
        license_start=license_start,
        timezone=spec.timezone or timezone,
        account_id=spec.account_id,
        personal_access_token=spec.personal_access_token,
        bearer_token=None,
        page_size=page_size,
    )
