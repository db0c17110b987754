"""Many LiveChat accounts in one command: one pipeline and staging dataset each, one dataset.

Accounts are configured the dlt way, one section each, in `.dlt/secrets.toml`::

    [sources.livechat.accounts.acme]
    account_id = "acme-license-id"
    personal_access_token = "..."      # or access_token = "..." (OAuth)
    timezone = "Europe/Warsaw"         # optional: timezone, filters, start_date, and the
    breakdowns = ["group"]             # group breakdown (breakdown_reports, breakdown_groups)

or through environment variables (`SOURCES__LIVECHAT__ACCOUNTS__ACME__ACCOUNT_ID`, ...).

Why each account gets its own pipeline (`<pipeline_name>_<account>`): dlt keeps the
incremental state per pipeline name, so two accounts on one name would share one cursor and
the second would silently skip its history. Why its own staging dataset
(`<dataset>_staging_<account>`): parallel merges through one shared staging dataset lose or
double rows. The load steps of one command take turns (`load_lock`): DuckDB has a single
writer, and dataset and table creation would race; requests, the slow part, overlap.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import dlt
from dlt.pipeline.pipeline import Pipeline

from sources.livechat import livechat_reports, settings_of
from sources.livechat.credentials import (
    LiveChatCredentials,
    OAuthCredentials,
    PersonalAccessTokenCredentials,
)
from sources.livechat.exceptions import ConfigurationError
from sources.livechat.meaning import DatasetMeaningChanged, changes

from .livechat_reports import LoadSummary, build_pipeline, run_load
from .logs import account_logs
from .meaning_record import recorded_meaning
from .progress import Tally

logger = logging.getLogger("livechat_reports")

SECTION = "sources.livechat.accounts"
ENV_PREFIX = "SOURCES__LIVECHAT__ACCOUNTS__"
# Settings an account section may override; the rest come from `[sources.livechat]`. Group
# ids belong to one license, so the group breakdown is an account's own setting too. Lists are
# read as text (a TOML array arrives as JSON) and parsed by the source like its own settings.
OVERRIDES: dict[str, type] = {
    "timezone": str,
    "filters": dict,
    "start_date": str,
    "breakdowns": str,
    "breakdown_reports": str,
    "breakdown_groups": str,
}
NAME = re.compile(r"[a-z][a-z0-9_]*")
# Accounts loading at once: their requests overlap, their load steps take turns.
DEFAULT_ACCOUNT_CONCURRENCY = 4


class AccountConfigError(ConfigurationError):
    """An account section is missing, misnamed or incomplete; found before any request."""


@dataclass(frozen=True)
class Account:
    """One configured account.

    Attributes:
        name: The section name (`acme` of `[sources.livechat.accounts.acme]`).
        credentials: Its personal access token or OAuth token.
        overrides: Its own timezone, filters, start_date or group breakdown, as
            `livechat_reports` arguments.
    """

    name: str
    credentials: LiveChatCredentials
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def account_id(self) -> str:
        """The LiveChat account id (the rows' `account_id`)."""
        return str(self.credentials.account_id)


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
    """What a load of many accounts did: one result per account, then the views.

    Attributes:
        results: One per account, in the order given.
        seconds: Elapsed time of the whole run.
        views: What the transform step did (`transforms.TransformResult`), or None.
        transform_error: Why the views could not be built, or None.
    """

    results: list[AccountResult]
    seconds: float = 0.0
    views: Any = None
    transform_error: BaseException | None = None

    @property
    def failed(self) -> list[AccountResult]:
        """The accounts whose load failed."""
        return [r for r in self.results if r.error is not None]


def configured_names() -> list[str]:
    """Return the names of the account sections found in config files and the environment."""
    names: set[str] = set()
    for accessor in (dlt.secrets, dlt.config):
        try:
            sections: Any = accessor.get(SECTION)
        except Exception:  # an unreadable value is reported when an account is read
            continue
        if isinstance(sections, Mapping):
            names.update(
                str(name) for name, value in sections.items() if isinstance(value, Mapping)
            )
    for key in os.environ:
        if key.startswith(ENV_PREFIX):
            name, separator, rest = key[len(ENV_PREFIX) :].partition("__")
            if separator and rest and name:
                names.add(name.lower())
    return sorted(names)


def configured_account_ids() -> list[str]:
    """Return the account_id of every configured section, whichever a run loads.

    Each load records them (`account_loads.configured_accounts`), so the dataset knows which of
    its accounts are configured no more. A section without a readable account_id is left out
    (a run that loads it is refused for it).
    """
    found: set[str] = set()
    for name in configured_names():
        try:
            account_id = _value(name, "account_id", str)
        except AccountConfigError:
            continue
        if account_id:
            found.add(str(account_id))
    return sorted(found)


SINGLE_SECTION = "sources.livechat.credentials"
SINGLE_ENV_PREFIX = "SOURCES__LIVECHAT__CREDENTIALS__"
SINGLE_KEYS = ("account_id", "personal_access_token", "access_token")


def check_no_single_account(names: Sequence[str]) -> None:
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
    sections = ", ".join(f"[{SECTION}.{name}]" for name in names)
    raise AccountConfigError(
        f"Both [{SINGLE_SECTION}]{which} and account sections ({sections}) are configured;"
        f" with account sections only the sections are loaded, so [{SINGLE_SECTION}] would"
        " silently stop loading. Move it into a section of its own"
        f" ([{SECTION}.<name>] with its account_id and token), or remove [{SINGLE_SECTION}]"
        f" (and the {SINGLE_ENV_PREFIX}* variables); nothing was requested."
    )


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


def read_accounts(selected: Sequence[str] | None = None) -> list[Account]:
    """Read the account sections to load: all of them, or the `selected` names.

    Raises:
        AccountConfigError: When a name is unknown or not usable as a pipeline name, when an
            account has no account_id or no token, or when two sections name one account.
    """
    names = configured_names()
    if selected:
        unknown = [name for name in selected if name not in names]
        if unknown:
            known = ", ".join(names) or "none"
            raise AccountConfigError(
                f"No account section for {', '.join(f'`{n}`' for n in unknown)} (configured:"
                f" {known}). Add [{SECTION}.{unknown[0]}] to .dlt/secrets.toml, or fix --accounts."
            )
        names = list(dict.fromkeys(selected))
    if not names:
        raise AccountConfigError(
            f"No account is configured: add a [{SECTION}.<name>] section with account_id and"
            " personal_access_token (or access_token) to .dlt/secrets.toml."
        )
    accounts = [_read_account(name) for name in names]
    owners: dict[str, str] = {}
    for account in accounts:
        if account.account_id in owners:
            raise AccountConfigError(
                f"Account sections `{owners[account.account_id]}` and `{account.name}` both name"
                f" account_id `{account.account_id}`; keep one section per account."
            )
        owners[account.account_id] = account.name
    return accounts


def _read_account(name: str) -> Account:
    if not NAME.fullmatch(name):
        raise AccountConfigError(
            f"Account section name `{name}` must be lowercase letters, digits and underscores,"
            " starting with a letter: it names the account's pipeline and staging dataset."
        )
    where = f"[{SECTION}.{name}] (or {ENV_PREFIX}{name.upper()}__...)"
    account_id = _value(name, "account_id", str)
    if not account_id:
        raise AccountConfigError(f"Account `{name}` has no account_id: set it in {where}.")
    personal_access_token = _value(name, "personal_access_token", str)
    access_token = _value(name, "access_token", str)
    credentials: LiveChatCredentials
    if personal_access_token:
        credentials = PersonalAccessTokenCredentials()
        credentials.personal_access_token = personal_access_token
    elif access_token:
        credentials = OAuthCredentials()
        credentials.access_token = access_token
    else:
        raise AccountConfigError(
            f"Account `{name}` has no token: set personal_access_token (or access_token for"
            f" OAuth) in {where}."
        )
    credentials.account_id = account_id
    overrides = {
        key: value
        for key, kind in OVERRIDES.items()
        if (value := _value(name, key, kind)) is not None
    }
    return Account(name, credentials, overrides)


def _value(name: str, key: str, kind: type) -> Any:
    path = f"{SECTION}.{name}.{key}"
    for accessor in (dlt.secrets, dlt.config):
        try:
            value: Any = accessor.get(path, kind)
        except Exception as error:
            raise AccountConfigError(
                f"Account `{name}`: `{key}` cannot be read as {kind.__name__}: {error}"
            ) from None
        if value is not None:
            return value
    return None


def check_accounts(accounts: Sequence[Account], source_options: Mapping[str, Any]) -> None:
    """Build each account's source once, so a bad setting stops the command before any request.

    Raises:
        ConfigurationError: Naming the account whose settings are invalid.
    """
    for account in accounts:
        try:
            livechat_reports(**account_options(account, source_options))
        except ConfigurationError as error:
            raise AccountConfigError(f"Account `{account.name}`: {error}") from None


def account_options(account: Account, source_options: Mapping[str, Any]) -> dict[str, Any]:
    """Return the `livechat_reports` arguments of one account's load.

    The given options (the command line's) win over the account's section, as they win over
    `[sources.livechat]`.
    """
    return {**account.overrides, **source_options, "credentials": account.credentials}


def account_pipeline_name(pipeline_name: str, account_name: str) -> str:
    """Return the dlt pipeline of one account: `<pipeline_name>_<account>`."""
    return f"{pipeline_name}_{account_name}"


def account_pipeline(
    account_name: str,
    pipeline_name: str,
    destination: str = "duckdb",
    dataset_name: str = "livechat_reports",
    duckdb_file: str | None = None,
    credentials: Any = None,
) -> Pipeline:
    """Create (or attach to) one account's pipeline: its own name, state and staging dataset.

    The staging dataset is `<dataset>_staging_<account>`: loads of several accounts through one
    shared staging dataset lose or double rows when they overlap.
    """
    return build_pipeline(
        account_pipeline_name(pipeline_name, account_name),
        destination,
        dataset_name,
        duckdb_file,
        credentials=credentials,
        staging_dataset_name_layout=f"%s_staging_{account_name}",
    )


def check_accounts_history(
    accounts: Sequence[Account],
    source_options: Mapping[str, Any],
    *,
    pipeline_name: str,
    destination: str = "duckdb",
    dataset_name: str = "livechat_reports",
    duckdb_file: str | None = None,
    credentials: Any = None,
) -> None:
    """Compare every account's settings with those its rows in the dataset were loaded with.

    Before any account's first request, so a change of meaning stops the command (exit 2)
    instead of failing one account among loaded ones. The record is the dataset's own
    (`meaning_record.recorded_meaning`): whatever pipeline loaded the account (as the single
    account, or under another `--pipeline-name`), its rows' meaning is found.

    Raises:
        AccountConfigError: Naming the account whose settings differ from its rows'.
    """
    for account in accounts:
        source = livechat_reports(**account_options(account, source_options))
        settings = settings_of(source)
        if settings.refresh:
            continue
        pipeline = account_pipeline(
            account.name, pipeline_name, destination, dataset_name, duckdb_file, credentials
        )
        changed = changes(recorded_meaning(pipeline, account.account_id), settings.meaning)
        if changed:
            error = DatasetMeaningChanged(pipeline.dataset_name, changed)
            raise AccountConfigError(f"Account `{account.name}`: {error}") from None


def run_accounts(
    accounts: Sequence[Account],
    source_options: Mapping[str, Any] | None = None,
    *,
    pipeline_name: str,
    destination: str = "duckdb",
    dataset_name: str = "livechat_reports",
    duckdb_file: str | None = None,
    credentials: Any = None,
    concurrency: int = DEFAULT_ACCOUNT_CONCURRENCY,
    transform: bool = True,
    on_done: Callable[[AccountResult], object] | None = None,
) -> ManyAccountsResult:
    """Load every account into one dataset, `concurrency` at a time, then build the views once.

    One account's failure neither stops nor rolls back the others: each has its own pipeline,
    state and staging dataset, and its error is kept in its result.

    Args:
        accounts: From `read_accounts`.
        source_options: `livechat_reports` arguments for every account (the command line's).
        pipeline_name: Each account's pipeline is `<pipeline_name>_<account>`.
        destination: The dlt destination.
        dataset_name: The shared dataset.
        duckdb_file: The DuckDB file (see `duckdb_path`).
        credentials: Destination credentials, when not configured the dlt way.
        concurrency: Accounts loading at once (each with its own request pool).
        transform: Whether to build the views after the loads (when at least one succeeded).
        on_done: Called with each account's result as it finishes.

    Returns:
        The results, in the order of `accounts`.
    """
    if concurrency < 1:
        raise AccountConfigError(
            f"--account-concurrency must be a whole number of at least 1; got {concurrency}"
        )
    started = time.monotonic()
    options = dict(source_options or {})
    load_lock = threading.Lock()
    results = [AccountResult(a, account_pipeline_name(pipeline_name, a.name)) for a in accounts]

    def pipeline_of(result: AccountResult) -> Pipeline:
        return account_pipeline(
            result.account.name, pipeline_name, destination, dataset_name, duckdb_file, credentials
        )

    def load(result: AccountResult) -> AccountResult:
        began = time.monotonic()
        try:
            with account_logs(result.account.name):
                result.summary = run_load(
                    pipeline_of(result),
                    account_options(result.account, options),
                    transform=False,
                    progress=result.tally,
                    load_lock=load_lock,
                )
        except Exception as error:  # kept per account: the others go on
            result.error = error
            logger.debug("account %s failed", result.account.name, exc_info=True)
        result.seconds = time.monotonic() - began
        if on_done is not None:
            on_done(result)
        return result

    import_shared_modules()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="account") as pool:
        list(pool.map(load, results))
    outcome = ManyAccountsResult(results)
    loaded = [r for r in results if r.error is None]
    if transform and loaded:
        # Through the first loaded account's pipeline, attached again in this thread.
        outcome.views, outcome.transform_error = _transform(pipeline_of(loaded[0]))
    outcome.seconds = time.monotonic() - started
    return outcome


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


def _transform(pipeline: Pipeline) -> tuple[Any, BaseException | None]:
    from transforms import DbtNotInstalled, apply_transforms

    try:
        # Once for all accounts, and only when the package or the tables' columns changed.
        return apply_transforms(pipeline, force=False), None
    except DbtNotInstalled as error:
        logger.warning("The data is loaded, but the views were not built: %s", error)
        return None, None
    except Exception as error:
        return None, error
