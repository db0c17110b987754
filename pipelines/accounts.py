"""Many LiveChat accounts in one command: accounts in shards, one pipeline per shard, one dataset.

Accounts are configured the dlt way, one section each, in `.dlt/secrets.toml`::

    [sources.livechat.accounts.acme]
    account_id = "acme-license-id"
    personal_access_token = "..."      # or access_token = "..." (OAuth)
    timezone = "Europe/Warsaw"         # optional: timezone, filters, start_date, and the
    breakdowns = ["group"]             # group breakdown (breakdown_reports, breakdown_groups)
    shard = 2                          # optional: else a stable hash of the name decides

or through environment variables (`SOURCES__LIVECHAT__ACCOUNTS__ACME__ACCOUNT_ID`, ...), or
as rows of an accounts file (`accounts_file`, see `accounts_file`) whose tokens are found under
the same keys a section's are.

Accounts are spread over `shards` shards (`[sources.livechat] shards`, default 1). A shard is
one dlt pipeline (`<pipeline_name>_shard_<k>`) with its own staging dataset, and one run of it
loads all its accounts: one load job and one merge per table, whatever the number of accounts,
which is what warehouses that cap writes per table need. Each account's cursors and meaning are
recorded in the dataset (`account_cursors`, `account_loads`), not in a pipeline's state, so an
account may move between shards. Shards of one command load a few at once; their normalize and
load steps take turns (`load_lock`): DuckDB has a single writer, table creation would race,
and each step holds its package's rows; requests, the slow part, overlap.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import dlt
from dlt.common.configuration.providers import (
    ConfigProvider,
    CustomLoaderDocProvider,
    DictionaryProvider,
    EnvironProvider,
    StringTomlProvider,
)
from dlt.common.configuration.providers.environ import SECRET_STORAGE_PATH
from dlt.common.configuration.utils import deserialize_value
from dlt.common.typing import AnyType, TSecretValue
from dlt.pipeline.pipeline import Pipeline

from sources.livechat import (
    AccountOverrides,
    LoadOptions,
    ShardLoad,
    SharedFetching,
    build_load,
    resolve_options,
    shared_fetching,
)
from sources.livechat.breakdown import resolve_breakdowns
from sources.livechat.credentials import (
    LiveChatCredentials,
    OAuthCredentials,
    PersonalAccessTokenCredentials,
)
from sources.livechat.exceptions import ConfigurationError
from sources.livechat.meaning import DatasetMeaningChanged, changes
from sources.livechat.shard import Account as SourceAccount
from sources.livechat.shard import AccountRun

from .accounts_file import NAME, AccountsFile, FileAccount, configured_accounts_file
from .livechat_reports import LoadSummary, build_pipeline, load_source
from .logs import name_accounts_in_logs
from .meaning_record import recorded_meanings
from .progress import Fanout, Tally

logger = logging.getLogger("livechat_reports")

SECTION = "sources.livechat.accounts"
SECTION_PATH = tuple(SECTION.split("."))
TOKEN_KEYS = ("personal_access_token", "access_token")
ENV_PREFIX = "SOURCES__LIVECHAT__ACCOUNTS__"
# Settings an account section may override, and how each is read; the rest come from
# `[sources.livechat]` (see `AccountOverrides`).
OVERRIDES: dict[str, type] = AccountOverrides.READ_AS
DEFAULT_SHARDS = 1
# Shards loading at once: their requests overlap, their load steps take turns.
DEFAULT_SHARD_CONCURRENCY = 4


class AccountConfigError(ConfigurationError):
    """An account section is missing, misnamed or incomplete; found before any request."""


@dataclass(frozen=True)
class Account(SourceAccount):
    """One configured account: the source's account, and the shard its section asks for.

    Attributes:
        shard: `shard = k` of its section, or None (a stable hash of its name decides).
    """

    shard: int | None = None


@dataclass
class AccountResult:
    """How one account's load went.

    Attributes:
        account: The account.
        pipeline_name: Its dlt pipeline.
        summary: The load's summary, or None when it failed.
        error: What it failed with, or None.
        tally: Its counts (requests answered, rows), kept when it failed too.
        seconds: Its elapsed time.
    """

    account: Account
    pipeline_name: str
    summary: LoadSummary | None = None
    error: BaseException | None = None
    tally: Tally = field(default_factory=Tally)
    seconds: float = 0.0


@dataclass
class ManyAccountsResult:
    """What a load of many accounts did: one result per account, then the transform.

    Attributes:
        results: One per account, in the order given.
        seconds: Elapsed time of the whole run.
        transform: What running the transforms did (`transforms.TransformResult`), or None.
        transform_error: Why the transforms failed, or None.
    """

    results: list[AccountResult]
    seconds: float = 0.0
    transform: Any = None
    transform_error: BaseException | None = None

    @property
    def failed(self) -> list[AccountResult]:
        """The accounts whose load failed."""
        return [r for r in self.results if r.error is not None]


def configured_names() -> list[str]:
    """Return the names of the configured accounts: the sections', and the accounts file's.

    Raises:
        AccountsFileError: When `accounts_file` is set and the file is missing or bad.
    """
    return Configured.read().names()


def group_breakdown_configured() -> bool:
    """Whether some configured account loads the group breakdown (so `*_by_group` tables).

    An account's own `breakdowns` (its section, or its row of the accounts file) wins over
    `breakdowns` under [sources.livechat]; with no account configured (the single account of
    [sources.livechat.credentials]) the latter decides. No token is read and nothing is
    checked: a bad value is refused when a run reads the accounts.
    """
    default = _source_breakdowns()
    configured = Configured.read()
    names = configured.names()
    if not names:
        return "group" in default
    listed = configured.file.accounts if configured.file else {}
    for name in names:
        row = listed.get(name)
        value = row.settings.get("breakdowns") if row is not None else None
        if value is None:
            try:
                value = configured.sections.get(name, "breakdowns", str)
            except AccountConfigError:
                continue
        try:
            chosen = default if value is None else resolve_breakdowns(value)
        except ConfigurationError:
            continue
        if "group" in chosen:
            return True
    return False


def _source_breakdowns() -> tuple[str, ...]:
    """`breakdowns` under [sources.livechat], or () when unset or unreadable."""
    for accessor in (dlt.config, dlt.secrets):
        try:
            value: Any = accessor.get("sources.livechat.breakdowns")
        except Exception:  # refused, with its reason, when a run reads it
            return ()
        if value is not None:
            try:
                return resolve_breakdowns(value)
            except ConfigurationError:
                return ()
    return ()


def configured_account_ids() -> list[str]:
    """Return the account_id of every configured account, whichever a run loads.

    Each load records them (`account_loads.configured_accounts`), so the dataset knows which of
    its accounts are configured no more. A section without a readable account_id is left out
    (a run that loads it is refused for it).
    """
    configured = Configured.read()
    listed = configured.file.accounts if configured.file else {}
    found = {row.account_id for row in listed.values()}
    for name in configured.sections.names - set(listed):
        try:
            account_id = configured.sections.get(name, "account_id", str)
        except AccountConfigError:
            continue
        if account_id:
            found.add(str(account_id))
    return sorted(found)


WHOLE_DOCUMENTS = (CustomLoaderDocProvider, DictionaryProvider, StringTomlProvider)


class SectionValues:
    """The values under `[sources.livechat.accounts]`, from dlt's providers, read cheaply.

    As `dlt.secrets.get(...)` then `dlt.config.get(...)` would find them: providers that hold
    secrets first, in dlt's order, then the others; the first value found wins. But each of
    those calls examines its type hint once per provider (about 40 µs), which made 10,000
    accounts cost seconds; here each document provider (secrets.toml, config.toml) gives its
    whole section once, environment variables are looked up by name, and only other providers
    (a vault) are asked key by key, as dlt asks them.

    Attributes:
        names: The names of the sections found in any provider.
    """

    def __init__(self) -> None:
        providers = [p for p in dlt.config.config_providers if not p.is_empty]
        ordered = [p for p in providers if p.supports_secrets]
        ordered += [p for p in providers if not p.supports_secrets]
        self.names: set[str] = set()
        # Each provider, with its whole section when it gave one at once (None: ask by key).
        self._sources: list[tuple[ConfigProvider, Mapping[str, Any] | None]] = []
        # Secrets mounted as files (Docker, Kubernetes), which dlt reads for secret values.
        self._secret_files = os.path.isdir(os.path.dirname(SECRET_STORAGE_PATH))
        for provider in ordered:
            if isinstance(provider, EnvironProvider):
                self.names.update(_environment_names())
                self._sources.append((provider, None))
                continue
            try:
                found, _ = provider.get_value(SECTION_PATH[-1], AnyType, None, *SECTION_PATH[:-1])
            except Exception:  # an unreadable value is reported when an account is read
                found = None
            sections = found if isinstance(found, Mapping) else {}
            self.names.update(str(n) for n, v in sections.items() if isinstance(v, Mapping))
            # secrets.toml, config.toml and dictionaries hold all they have; a vault fetches
            # what it is asked for, so it is asked for each key.
            whole = isinstance(provider, WHOLE_DOCUMENTS)
            self._sources.append((provider, sections if whole else None))

    def get(self, name: str, key: str, kind: type) -> Any:
        """Return the value of `key` in section `name` as `kind`, or None when it is not set.

        Raises:
            AccountConfigError: When the value cannot be read as `kind`.
        """
        path = (*SECTION_PATH, name)
        hint = TSecretValue if key in TOKEN_KEYS else kind
        for provider, sections in self._sources:
            if isinstance(provider, EnvironProvider):
                value = os.environ.get(EnvironProvider.get_key_name(key, *path))
                if value is None and self._secret_files and hint is TSecretValue:
                    value = self._ask(provider, name, key, hint)
            elif sections is not None:
                section = sections.get(name)
                value = section.get(key) if isinstance(section, Mapping) else None
            else:
                value = self._ask(provider, name, key, hint)
            if value is not None:
                return _as(name, key, value, kind)
        return None

    @staticmethod
    def _ask(provider: ConfigProvider, name: str, key: str, hint: Any) -> Any:
        try:
            value, _ = provider.get_value(key, hint, None, *SECTION_PATH, name)
        except Exception as error:
            raise AccountConfigError(
                f"Account `{name}`: `{key}` cannot be read from {provider.name}: {error}"
            ) from None
        return value


def _environment_names() -> set[str]:
    names: set[str] = set()
    for key in os.environ:
        if key.startswith(ENV_PREFIX):
            name, separator, rest = key[len(ENV_PREFIX) :].partition("__")
            if separator and rest and name:
                names.add(name.lower())
    return names


def _as(name: str, key: str, value: Any, kind: type) -> Any:
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    try:
        return deserialize_value(f"{SECTION}.{name}.{key}", value, kind)
    except Exception as error:
        raise AccountConfigError(
            f"Account `{name}`: `{key}` cannot be read as {kind.__name__}: {error}"
        ) from None


@dataclass(frozen=True)
class Configured:
    """Every configured account, read once: the sections' values and the accounts file.

    Attributes:
        sections: The values of the account sections (and of file accounts' tokens).
        file: The accounts file's accounts, or None when `accounts_file` is not set.
    """

    sections: SectionValues
    file: AccountsFile | None

    @classmethod
    def read(cls) -> Configured:
        """Read the account sections and the accounts file.

        Raises:
            AccountsFileError: When `accounts_file` is set and the file is missing or bad.
        """
        return cls(SectionValues(), configured_accounts_file())

    def names(self) -> list[str]:
        """Every configured account's name, sorted."""
        listed = set(self.file.accounts) if self.file else set()
        return sorted(self.sections.names | listed)


SINGLE_SECTION = "sources.livechat.credentials"
SINGLE_ENV_PREFIX = "SOURCES__LIVECHAT__CREDENTIALS__"
SINGLE_KEYS = ("account_id", "personal_access_token", "access_token")
# Names shown in a message about many accounts; the rest are counted.
SHOWN_NAMES = 5


def validate_no_single_account(names: Sequence[str]) -> None:
    """Refuse `[sources.livechat.credentials]` beside account sections, before any request.

    With account sections only the sections are loaded: the account of the credentials would
    silently stop loading (its rows going stale) while every run succeeds.

    Raises:
        AccountConfigError: Naming both, and the two ways out.
    """
    given = [key for key in SINGLE_KEYS if _single_value(key)]
    if not given or not names:
        return
    account_id = _single_value("account_id")
    which = f" (account_id `{account_id}`)" if account_id and account_id != "?" else ""
    sections = _some([f"[{SECTION}.{name}]" for name in names])
    raise AccountConfigError(
        f"Both [{SINGLE_SECTION}]{which} and accounts ({sections}: sections, or rows of the"
        f" accounts file) are configured; with accounts only those are loaded, so"
        f" [{SINGLE_SECTION}] would silently stop loading. Move it into a section of its own"
        f" ([{SECTION}.<name>] with its account_id and token) or a row of the accounts file, or"
        f" remove [{SINGLE_SECTION}] (and the {SINGLE_ENV_PREFIX}* variables); nothing was"
        " requested."
    )


def _some(names: Sequence[str]) -> str:
    """`a, b, c` for a few names; the first few and how many more for many."""
    shown = ", ".join(names[:SHOWN_NAMES])
    more = len(names) - SHOWN_NAMES
    return f"{shown} and {more:,} more" if more > 0 else shown


def _single_value(key: str) -> str | None:
    if os.environ.get(SINGLE_ENV_PREFIX + key.upper()):
        return os.environ[SINGLE_ENV_PREFIX + key.upper()]
    for accessor in (dlt.secrets, dlt.config):
        try:
            value: Any = accessor.get(f"{SINGLE_SECTION}.{key}")
        except Exception:  # unreadable: it is still configured
            return "?"
        if value:
            return str(value)
    return None


class NoToken(AccountConfigError):
    """An account has no token; said for every such account at once.

    Attributes:
        name: The account.
    """

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(message)


def read_accounts(selected: Sequence[str] | None = None) -> list[Account]:
    """Read the accounts to load (sections and accounts file): all of them, or the `selected`.

    Raises:
        AccountConfigError: When a name is unknown or not usable as a pipeline name, when an
            account has no account_id or no token, when two accounts name one account_id, or
            when an account of the file is a section of its own too.
        AccountsFileError: When the accounts file is missing or has bad rows.
    """
    configured = Configured.read()
    names = configured.names()
    file = configured.file
    if selected:
        known = set(names)
        unknown = [name for name in selected if name not in known]
        if unknown:
            listed = _some(names) or "none"
            missing = ", ".join(f"`{n}`" for n in unknown)
            if file is None:
                raise AccountConfigError(
                    f"No account section for {missing} (configured: {listed}). Add"
                    f" [{SECTION}.{unknown[0]}] to .dlt/secrets.toml, or fix --accounts."
                )
            raise AccountConfigError(
                f"No account {missing} in accounts file `{file.path}` or a section"
                f" (configured: {listed}). Add a row for it, or fix --accounts."
            )
        names = list(dict.fromkeys(selected))
    if not names:
        raise AccountConfigError(
            f"No account is configured: add a [{SECTION}.<name>] section with account_id and"
            " personal_access_token (or access_token) to .dlt/secrets.toml, or list accounts"
            " in a file (accounts_file under [sources.livechat])."
        )
    accounts: list[Account] = []
    without_token: list[NoToken] = []
    for name in names:
        try:
            accounts.append(_read_account(name, configured))
        except NoToken as error:
            without_token.append(error)
    if without_token:
        first = without_token[0]
        others = [e.name for e in without_token[1:]]
        more = ""
        if others:
            which = "account has" if len(others) == 1 else "accounts have"
            more = f" {len(others):,} more {which} no token: {_some(others)}."
        raise AccountConfigError(f"{first}{more}") from None
    owners: dict[str, Account] = {}
    for account in accounts:
        if account.account_id in owners:
            first_owner = owners[account.account_id]
            raise AccountConfigError(
                f"Accounts `{first_owner.name}` ({_origin(first_owner.name, file)}) and"
                f" `{account.name}` ({_origin(account.name, file)}) both name account_id"
                f" `{account.account_id}`; keep one per account."
            )
        owners[account.account_id] = account
    return accounts


def _origin(name: str, file: AccountsFile | None) -> str:
    if file is not None and name in file.accounts:
        return file.accounts[name].where
    return f"section [{SECTION}.{name}]"


def _read_account(name: str, configured: Configured) -> Account:
    listed = configured.file.accounts.get(name) if configured.file else None
    if listed is not None:
        return _file_account(listed, configured.sections)
    if not NAME.fullmatch(name):
        raise AccountConfigError(
            f"Account section name `{name}` must be lowercase letters, digits and underscores,"
            " starting with a letter: it names the account's pipeline and staging dataset."
        )
    sections = configured.sections
    where = f"[{SECTION}.{name}] (or {ENV_PREFIX}{name.upper()}__...)"
    account_id = sections.get(name, "account_id", str)
    if not account_id:
        also = (
            f", or list `{name}` in accounts file `{configured.file.path}`"
            if configured.file
            else ""
        )
        raise AccountConfigError(f"Account `{name}` has no account_id: set it in {where}{also}.")
    credentials = _credentials(
        name,
        sections,
        f"Account `{name}` has no token: set personal_access_token (or access_token for"
        f" OAuth) in {where}.",
    )
    credentials.account_id = account_id
    overrides = AccountOverrides.of(
        {
            key: value
            for key, kind in OVERRIDES.items()
            if (value := sections.get(name, key, kind)) is not None
        }
    )
    return Account(name, credentials, overrides, shard=_shard(name, sections))


def _file_account(listed: FileAccount, sections: SectionValues) -> Account:
    """An account of the accounts file: its row, its token, and what its section adds.

    The section of a file account (`[sources.livechat.accounts.<name>]`, or its variables)
    holds its token, and may add a setting its row leaves empty (`filters`, say, which is
    awkward in a CSV cell); a setting in both, or an account_id there, is refused: two places
    saying one thing drift apart, and which one wins would be a guess.
    """
    name = listed.name
    section = f"[{SECTION}.{name}] (or {ENV_PREFIX}{name.upper()}__*)"
    if sections.get(name, "account_id", str) is not None:
        raise AccountConfigError(
            f"Account `{name}` is in the accounts file ({listed.where}) and has a section of its"
            f" own with an account_id, {section}: keep one. The section of an account of the"
            " file holds only its token (and settings its row leaves empty)."
        )
    added = {
        key: value
        for key, kind in OVERRIDES.items()
        if (value := sections.get(name, key, kind)) is not None
    }
    shard = _shard(name, sections)
    both = [key for key in added if key in listed.settings]
    if shard is not None and listed.shard is not None:
        both.append("shard")
    if both:
        keys = ", ".join(f"`{key}`" for key in both)
        raise AccountConfigError(
            f"Account `{name}` sets {keys} both in the accounts file ({listed.where}) and in"
            f" {section}: keep one."
        )
    credentials = _credentials(
        name,
        sections,
        f"Account `{name}` ({listed.where}) has no token: set"
        f" {ENV_PREFIX}{name.upper()}__PERSONAL_ACCESS_TOKEN (or"
        f" {ENV_PREFIX}{name.upper()}__ACCESS_TOKEN for OAuth), or personal_access_token in"
        f" [{SECTION}.{name}] of .dlt/secrets.toml or any secret provider dlt reads; tokens"
        " never go in the accounts file.",
    )
    credentials.account_id = listed.account_id
    overrides = AccountOverrides.of({**added, **listed.settings})
    return Account(name, credentials, overrides, shard=listed.shard if shard is None else shard)


def _credentials(name: str, sections: SectionValues, missing: str) -> LiveChatCredentials:
    """The account's token, personal or OAuth, as credentials without their account_id.

    Raises:
        NoToken: With the `missing` message.
    """
    personal_access_token = sections.get(name, "personal_access_token", str)
    if personal_access_token:
        personal = PersonalAccessTokenCredentials()
        personal.personal_access_token = personal_access_token
        return personal
    access_token = sections.get(name, "access_token", str)
    if access_token:
        oauth = OAuthCredentials()
        oauth.access_token = access_token
        return oauth
    raise NoToken(name, missing)


def _shard(name: str, sections: SectionValues) -> int | None:
    shard = sections.get(name, "shard", int)
    if shard is not None and (isinstance(shard, bool) or shard < 0):
        raise AccountConfigError(f"Account `{name}`: `shard` must be 0 or more; got `{shard}`")
    return shard


def validate_accounts(accounts: Sequence[Account], options: LoadOptions) -> list[AccountRun]:
    """Validate every account's settings at once, so a bad one stops the command before any request.

    The configuration is read once for all of them (`resolve_options`).

    Returns:
        Each account with its validated settings (for `check`, which loads nothing).

    Raises:
        ConfigurationError: Naming the account whose settings are invalid.
    """
    resolved = resolve_options(options, credentials_required=False)
    return build_load(resolved, under(accounts, resolved)).accounts


def under(accounts: Sequence[Account], options: LoadOptions) -> list[Account]:
    """The accounts with the settings the run was given taken out of their own.

    The run's own settings (the command line's) win over an account's section, as they win
    over `[sources.livechat]`; `options` may be resolved (those read from the configuration
    give way to the section).
    """
    return [replace(a, overrides=a.overrides.without(options)) for a in accounts]


@dataclass
class ShardRun:
    """One shard of a run, built before any shard's first request.

    Attributes:
        shard: Its number.
        results: One per account, filled as the shard finishes.
        load: Its source, built once (every account's settings validated).
        tally: Counts its requests and rows (each account's also in its result's tally).
    """

    shard: int
    results: list[AccountResult]
    load: ShardLoad
    tally: Tally

    @property
    def runs(self) -> list[AccountRun]:
        """Its accounts, each with its validated settings."""
        return self.load.accounts


@dataclass
class Plan:
    """The shards a run loads, each built once before any request.

    Attributes:
        shards: Each shard's run, in shard order.
        accounts: The accounts loaded, in the order given.
        concurrency: How many shards fetch at once.
        shared: The fetch slots and request pool those shards share (None: one shard).
    """

    shards: dict[int, ShardRun]
    accounts: list[Account]
    concurrency: int = DEFAULT_SHARD_CONCURRENCY
    shared: SharedFetching | None = None

    def results(self) -> list[AccountResult]:
        """Every account's result, in the order the accounts were given."""
        by_name = {r.account.name: r for run in self.shards.values() for r in run.results}
        return [by_name[a.name] for a in self.accounts]

    def runs(self) -> list[AccountRun]:
        """Every account loaded, with its validated settings, in shard order."""
        return [run for shard in self.shards.values() for run in shard.runs]


def plan_shards(
    accounts: Sequence[Account],
    options: LoadOptions,
    *,
    pipeline_name: str,
    shards: int = DEFAULT_SHARDS,
    only_shards: Sequence[int] | None = None,
    concurrency: int = DEFAULT_SHARD_CONCURRENCY,
) -> Plan:
    """Build the source of each shard a run loads, once per command, before any request.

    The configuration is read once (`resolve_options`); every account's settings are
    validated as its shard's source is built (shard by shard), so a bad one stops the command
    before any request; and these sources are the ones the shards load (`run_accounts`).

    Args:
        accounts: From `read_accounts`.
        options: The run's settings (the command line's, or Dagster's run config).
        pipeline_name: The command's pipeline name (each shard's is `shard_pipeline_name`).
        shards: How many shards the accounts are spread over (`shard_of_account`).
        only_shards: Build only the shards of these numbers (`--shards`); default all.
        concurrency: How many shards fetch at once when the plan runs (`run_accounts`); the
            shards share their fetch slots and a request pool of `max_concurrency` per slot.

    Raises:
        AccountConfigError: When `only_shards` names a shard that does not exist.
        ConfigurationError: Naming the first account whose settings are invalid.
    """
    grouped = selected_shards(accounts, shards, only_shards)
    resolved = resolve_options(options, credentials_required=False) if grouped else options
    at_once = min(concurrency, len(grouped))
    shared = shared_fetching(resolved, at_once) if at_once > 1 else None
    planned: dict[int, ShardRun] = {}
    for shard, members in grouped.items():
        name = shard_pipeline_name(pipeline_name, shard)
        results = [AccountResult(account, name) for account in members]
        tally = Tally()
        tallies = {result.account.name: result.tally for result in results}

        def progress_of(account: str, tally: Tally = tally, tallies: Any = tallies) -> Fanout:
            return Fanout(tally, tallies[account])

        load = build_load(
            resolved,
            under(members, resolved),
            progress=tally,
            progress_of=progress_of,
            shared=shared,
        )
        planned[shard] = ShardRun(shard, results, load, tally)
    loaded = {a.name for members in grouped.values() for a in members}
    return Plan(planned, [a for a in accounts if a.name in loaded], max(1, at_once), shared)


def refuse_changed_meanings(
    runs: Sequence[AccountRun],
    *,
    shard: int,
    pipeline_name: str,
    destination: str = "duckdb",
    dataset_name: str = "livechat_reports",
    duckdb_file: str | None = None,
    credentials: Any = None,
) -> None:
    """Compare every account's settings with those its rows in the dataset were loaded with.

    Before any account's first request, so a change of meaning stops the command (exit 2)
    instead of failing one account among loaded ones. The record is the dataset's own
    (`meaning_record.recorded_meanings`): whatever pipeline loaded the account (as the single
    account, a shard, or under another `--pipeline-name`), its rows' meaning is found.

    Args:
        runs: The accounts the run loads, with their validated settings (of the shards it
            loads, not every shard's: `--shards 0` is not stopped by an account of shard 3).
        shard: A shard the run loads: its pipeline reads the dataset (each process its own,
            so that concurrent `--shards` processes do not create one pipeline folder at once).
        pipeline_name: The command's pipeline name.
        destination: The dlt destination.
        dataset_name: The shared dataset.
        duckdb_file: The DuckDB file.
        credentials: Destination credentials, when not configured the dlt way.

    Raises:
        AccountConfigError: Naming the account whose settings differ from its rows'.
    """
    pipeline = shard_pipeline(
        shard, pipeline_name, destination, dataset_name, duckdb_file, credentials
    )
    records = recorded_meanings(pipeline, [run.account_id for run in runs])
    for run in runs:
        if run.settings.refresh:
            continue
        changed = changes(records.get(run.account_id), run.settings.meaning)
        if changed:
            error = DatasetMeaningChanged(pipeline.dataset_name, changed)
            raise AccountConfigError(f"Account `{run.name}`: {error}") from None


def shard_count() -> int:
    """Return the configured number of shards (`shards` under `[sources.livechat]`; default 1).

    Raises:
        AccountConfigError: When it is not a whole number of at least 1.
    """
    value: Any = None
    for accessor in (dlt.config, dlt.secrets):
        try:
            value = accessor.get("sources.livechat.shards", int)
        except Exception as error:
            raise AccountConfigError(
                f"`shards` under [sources.livechat] must be a whole number; {error}"
            ) from None
        if value is not None:
            break
    if value is None:
        return DEFAULT_SHARDS
    if isinstance(value, bool) or value < 1:
        raise AccountConfigError(
            f"`shards` under [sources.livechat] must be at least 1; got `{value}`"
        )
    return int(value)


def shard_of_account(account: Account, shards: int) -> int:
    """Return the shard an account loads in: its section's `shard`, else a stable hash of its name.

    The hash (SHA-256 of the section name) is the same on every machine and Python run, so an
    account stays in its shard while `shards` is unchanged.

    Raises:
        AccountConfigError: When the section's `shard` is not below `shards`.
    """
    if account.shard is not None:
        if account.shard >= shards:
            raise AccountConfigError(
                f"Account `{account.name}` asks for shard {account.shard}, but there are"
                f" {shards} shards (0..{shards - 1}): lower its `shard` or raise `shards`."
            )
        return account.shard
    digest = hashlib.sha256(account.name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards


def assign_shards(accounts: Sequence[Account], shards: int) -> dict[int, list[Account]]:
    """Group accounts by shard, in shard order (accounts keep their order within a shard)."""
    grouped: dict[int, list[Account]] = {}
    for account in accounts:
        grouped.setdefault(shard_of_account(account, shards), []).append(account)
    return dict(sorted(grouped.items()))


def selected_shards(
    accounts: Sequence[Account], shards: int, only_shards: Sequence[int] | None = None
) -> dict[int, list[Account]]:
    """The accounts of each shard a run loads: every shard, or `only_shards` (`--shards`).

    Raises:
        AccountConfigError: When `only_shards` names a shard that does not exist.
    """
    grouped = assign_shards(accounts, shards)
    if only_shards is None:
        return grouped
    unknown = sorted(set(only_shards) - set(range(shards)))
    if unknown:
        raise AccountConfigError(
            f"--shards names shard {unknown[0]}, but there are {shards} shards (0..{shards - 1})"
        )
    return {k: v for k, v in grouped.items() if k in set(only_shards)}


def shard_pipeline_name(pipeline_name: str, shard: int) -> str:
    """Return the dlt pipeline of one shard: `<pipeline_name>_shard_<k>`."""
    return f"{pipeline_name}_shard_{shard}"


def shard_pipeline(
    shard: int,
    pipeline_name: str,
    destination: str = "duckdb",
    dataset_name: str = "livechat_reports",
    duckdb_file: str | None = None,
    credentials: Any = None,
) -> Pipeline:
    """Create (or attach to) one shard's pipeline: its own name and staging dataset.

    The staging dataset is `<dataset>_staging_shard_<k>`: loads through one shared staging
    dataset lose or double rows when they overlap.
    """
    return build_pipeline(
        shard_pipeline_name(pipeline_name, shard),
        destination,
        dataset_name,
        duckdb_file,
        credentials=credentials,
        staging_dataset_name_layout=f"%s_staging_shard_{shard}",
    )


def validate_account_concurrency(options: LoadOptions) -> None:
    """Refuse `--account-concurrency` below 1, before any request.

    Raises:
        AccountConfigError: Naming the value.
    """
    value = options.account_concurrency
    if value is not None and value < 1:
        raise AccountConfigError(
            f"--account-concurrency must be a whole number of at least 1; got {value}"
        )


def run_accounts(
    plan: Plan,
    *,
    pipeline_name: str,
    destination: str = "duckdb",
    dataset_name: str = "livechat_reports",
    duckdb_file: str | None = None,
    credentials: Any = None,
    transform: bool = True,
    on_done: Callable[[AccountResult], object] | None = None,
) -> ManyAccountsResult:
    """Load shards into one dataset, the plan's `concurrency` shards at a time, then the views.

    Each shard is one pipeline (`<pipeline_name>_shard_<k>`) whose run loads all its accounts:
    one load job and one merge per table. One account's failure neither stops nor rolls back
    the others: its rows are not loaded, its cursors do not move, its error is kept in its
    result; a shard that fails as a whole (its destination, say) fails each of its accounts.

    Args:
        plan: The shards to load, from `plan_shards` (their sources are loaded as they were
            built, not built again).
        pipeline_name: Each shard's pipeline is `<pipeline_name>_shard_<k>`.
        destination: The dlt destination.
        dataset_name: The shared dataset.
        duckdb_file: The DuckDB file (see `duckdb_path`).
        credentials: Destination credentials, when not configured the dlt way.
        transform: Whether to build the views after the loads (when at least one succeeded).
        on_done: Called with each account's result as its shard finishes.

    Returns:
        The results, in the order of the accounts given (of the shards loaded).
    """
    started = time.monotonic()
    load_lock = threading.Lock()
    planned = plan.shards

    def pipeline_of(shard: int) -> Pipeline:
        return shard_pipeline(
            shard, pipeline_name, destination, dataset_name, duckdb_file, credentials
        )

    def load(shard: int) -> None:
        load_shard(pipeline_of(shard), planned[shard], load_lock, on_done)

    import_shared_modules()
    name_accounts_in_logs()
    # `plan.concurrency` shards fetch at once (their requests overlap, their writes take turns);
    # as many again may wait for or run their load steps, so the next shards' requests overlap
    # those steps (`SharedFetching`).
    workers = min(len(planned), 2 * plan.concurrency) or 1
    try:
        with ThreadPoolExecutor(workers, thread_name_prefix="shard") as pool:
            list(pool.map(load, planned))
    finally:
        if plan.shared is not None:
            plan.shared.close()
    outcome = ManyAccountsResult(plan.results())
    loaded = [k for k, run in planned.items() if any(r.summary for r in run.results)]
    if transform and loaded:
        # Through the first loaded shard's pipeline, attached again in this thread.
        outcome.transform, outcome.transform_error = _run_transforms(pipeline_of(loaded[0]))
    outcome.seconds = time.monotonic() - started
    return outcome


def load_shard(
    pipeline: Pipeline,
    shard: ShardRun,
    load_lock: threading.Lock,
    on_done: Callable[[AccountResult], object] | None,
) -> None:
    """Run one shard's load and put each account's outcome in its result."""
    began = time.monotonic()
    failure: BaseException | None = None
    summary: LoadSummary | None = None
    members = shard.results
    try:
        summary = load_source(
            pipeline,
            shard.load,
            shard.tally,
            transform=False,
            load_lock=load_lock,
            account_tallies={r.account.name: r.tally for r in members},
        )
    except Exception as error:  # the whole shard failed: each of its accounts did
        logger.debug("shard %s failed", pipeline.pipeline_name, exc_info=True)
        failure = error
    for result in members:
        result.seconds = time.monotonic() - began
        if summary is None:
            result.error = failure
        elif result.account.name in summary.failed:
            result.error = summary.failed[result.account.name]
        else:
            result.summary = account_summary(summary, result)
        if on_done is not None:
            on_done(result)


def account_summary(shard: LoadSummary, result: AccountResult) -> LoadSummary:
    """One account's part of its shard's load: its rows, requests and days."""
    figures = shard.per_account.get(result.account.account_id)
    return LoadSummary(
        load_id=shard.load_id,
        rows=result.tally.rows_by_table(),
        requests=figures.requests if figures else 0,
        retried=figures.retried if figures else 0,
        first_day=figures.first_day if figures else None,
        last_day=figures.last_day if figures else None,
        finished_pending=shard.finished_pending,
        discarded_pending=shard.discarded_pending,
        destination=shard.destination,
        resources=shard.resources,
        unseen_groups=shard.unseen_by_account.get(result.account.name, ()),
    )


def import_shared_modules() -> None:
    """Import what the loads import lazily, before threads do it at once.

    Two threads importing pyarrow together failed one of them with "partially initialized
    module 'pyarrow'" (the parquet writer of DuckDB loads imports it on first use).
    """
    import importlib

    for name in ("pyarrow", "pyarrow.parquet", "dlt.common.libs.pyarrow", "duckdb"):
        try:
            importlib.import_module(name)
        except ImportError:  # not installed: the destination that needs it says so
            continue


def _run_transforms(pipeline: Pipeline) -> tuple[Any, BaseException | None]:
    from transforms import DbtNotInstalled, run_transforms

    try:
        # Once for all accounts, and only when the package or the tables' columns changed.
        return run_transforms(pipeline, force=False), None
    except DbtNotInstalled as error:
        logger.warning("The data is loaded, but the views were not built: %s", error)
        return None, None
    except Exception as error:
        return None, error
