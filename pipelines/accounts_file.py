"""Accounts listed in a file (CSV or JSON lines): who they are and their settings, never tokens.

Name the file in `[sources.livechat] accounts_file = "accounts.csv"` (or
`SOURCES__LIVECHAT__ACCOUNTS_FILE`); a relative path is relative to the working directory,
where dlt finds `.dlt/` too. One row per account::

    name,account_id,timezone,start_date,shard
    acme,acme-license-id,,,
    globex,globex-license-id,Europe/Warsaw,2025-01-01,3

or, in a `.jsonl` file, one object per line (`{"name": "acme", "account_id": "..."}`). Each
account's token stays where a section's is, under its name, in any of dlt's secret providers:
`SOURCES__LIVECHAT__ACCOUNTS__ACME__PERSONAL_ACCESS_TOKEN`, `.dlt/secrets.toml`, a vault. A
file holding tokens is refused: files get copied, committed and attached to tickets.

The whole file is checked before any request, and every bad row is reported at once with its
line, so a list of thousands is fixed in one pass.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
from dlt.common.configuration.utils import deserialize_value

from sources.livechat.exceptions import ConfigurationError
from sources.livechat.settings import parse_date, validate_timezone

SETTING = "sources.livechat.accounts_file"
SETTING_ENV = "SOURCES__LIVECHAT__ACCOUNTS_FILE"
# An account's name: it names its token's variables, its section, and it is `--accounts`'s word.
NAME = re.compile(r"[a-z][a-z0-9_]*")
REQUIRED = ("name", "account_id")
# The settings a row may give (those of an account section but its token); the others come
# from `[sources.livechat]`. Lists are text, as in a section: `group`, `1,4` or `[1, 4]`.
SETTINGS: dict[str, type] = {
    "timezone": str,
    "start_date": str,
    "shard": int,
    "filters": dict,
    "breakdowns": str,
    "breakdown_reports": str,
    "breakdown_groups": str,
}
COLUMNS = (*REQUIRED, *SETTINGS)
# A column whose name has one of these is a credential: refused, its values never shown.
SECRET_WORDS = ("token", "secret", "password", "key")
FORMATS = (".csv", ".jsonl")
SHOWN_PROBLEMS = 10
TOKEN_PLACES = (
    "Put each account's token where dlt reads secrets, under the account's name:"
    " SOURCES__LIVECHAT__ACCOUNTS__<NAME>__PERSONAL_ACCESS_TOKEN (or __ACCESS_TOKEN for OAuth),"
    " or personal_access_token in [sources.livechat.accounts.<name>] of .dlt/secrets.toml, or"
    " any secret provider dlt is configured with"
)


class AccountsFileError(ConfigurationError):
    """The accounts file is missing, unreadable, holds tokens, or has bad rows.

    Attributes:
        path: The file, as configured.
        problems: One line per problem, each starting with `<file>:<line>` when it has one.
    """

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        shown = problems[:SHOWN_PROBLEMS]
        more = len(problems) - len(shown)
        if len(problems) == 1:
            text = problems[0]
        else:
            text = f"Accounts file `{path}` has {len(problems)} problems:\n  " + "\n  ".join(shown)
            if more:
                text += f"\n  ... and {more} more"
        super().__init__(f"{text}\nNothing was requested.")


@dataclass(frozen=True)
class FileAccount:
    """One account listed in the accounts file.

    Attributes:
        name: Its name (its token's variables, `--accounts`, the logs).
        account_id: The LiveChat account id.
        settings: The settings its row gives (`SETTINGS` but `shard`), parsed.
        shard: The shard its row asks for, or None.
        where: `<file>:<line>`, for messages.
    """

    name: str
    account_id: str
    settings: Mapping[str, Any]
    shard: int | None
    where: str


@dataclass(frozen=True)
class AccountsFile:
    """The accounts of the file, checked.

    Attributes:
        path: The file, as configured (relative paths are relative to the working directory).
        accounts: Its accounts, by name, in the file's order.
    """

    path: str
    accounts: Mapping[str, FileAccount]


def configured_accounts_file() -> AccountsFile | None:
    """Read the file `accounts_file` names under `[sources.livechat]`, or None when none is set.

    Raises:
        AccountsFileError: When the setting, the file or any of its rows is bad.
    """
    try:
        configured: Any = dlt.config.get(SETTING, str)
    except Exception as error:  # a value that is not a path
        problem = f"`accounts_file` under [sources.livechat] cannot be read as a path: {error}"
        raise AccountsFileError("?", [problem]) from None
    if configured is None or not str(configured).strip():
        return None
    return read_accounts_file(str(configured).strip())


def read_accounts_file(path: str) -> AccountsFile:
    """Read and check an accounts file, `.csv` or `.jsonl`, relative to the working directory.

    Raises:
        AccountsFileError: Naming the file, and each bad row with its line, the value and what
            to do. A token column stops the reading at once, without showing any value.
    """
    resolved = Path(path).expanduser().resolve()
    suffix = resolved.suffix.lower()
    if suffix not in FORMATS:
        raise AccountsFileError(
            path,
            [
                f"Accounts file `{path}` must end in .csv or .jsonl (JSON lines); set"
                f" accounts_file under [sources.livechat] (or {SETTING_ENV}) to such a file."
            ],
        )
    try:
        with resolved.open(encoding="utf-8-sig", newline="") as handle:
            rows = _csv_rows(handle, path) if suffix == ".csv" else _jsonl_rows(handle, path)
            return _accounts(path, rows)
    except FileNotFoundError:
        raise AccountsFileError(
            path,
            [
                f"Accounts file `{path}` does not exist (looked for {resolved}; a relative"
                " path is relative to the working directory). Fix accounts_file under"
                f" [sources.livechat] (or {SETTING_ENV}), or run from the project folder."
            ],
        ) from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise AccountsFileError(
            path, [f"Accounts file `{path}` cannot be read ({resolved}): {error}"]
        ) from None


# A row: where it is, and its values by column (None: a line that could not be read, its
# problem already said).
Row = tuple[str, dict[str, Any] | None, list[str]]


def _csv_rows(lines: Any, path: str) -> Iterator[Row]:
    reader = csv.reader(lines)
    header: list[str] | None = None
    for cells in reader:
        where = f"{path}:{reader.line_num}"
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in cells]
            _check_columns(header, where, path)
            continue
        if len(cells) > len(header):
            yield (
                where,
                None,
                [
                    f"{where}: {len(cells)} values, but the header names {len(header)} columns;"
                    " quote a value that holds a comma"
                ],
            )
            continue
        yield where, dict(zip(header, (c.strip() for c in cells), strict=False)), []
    if header is None:
        raise AccountsFileError(path, [_empty(path)])


def _jsonl_rows(lines: Any, path: str) -> Iterator[Row]:
    for number, line in enumerate(lines, start=1):
        where = f"{path}:{number}"
        if not line.strip():
            continue
        try:
            values = json.loads(line)
        except json.JSONDecodeError as error:  # its text is not shown: it may hold a secret
            yield where, None, [f"{where}: not valid JSON ({error.msg}, column {error.colno})"]
            continue
        if not isinstance(values, dict):
            yield where, None, [f"{where}: not a JSON object; write one object per line"]
            continue
        keys = [str(k).strip().lower() for k in values]
        _check_secrets(keys, where)
        unknown = [k for k in keys if k not in COLUMNS]
        problems = [f"{where}: {_unknown(unknown)}"] if unknown else []
        yield where, dict(zip(keys, values.values(), strict=True)), problems


def _check_columns(header: list[str], where: str, path: str) -> None:
    _check_secrets(header, where)
    problems = []
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        problems.append(f"{where}: {_unknown(unknown)}")
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        problems.append(f"{where}: column {_listed(twice)} appears more than once")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        problems.append(
            f"{where}: no {_listed(missing)} column; the first line names the columns,"
            f" {', '.join(REQUIRED)} first, then any of {', '.join(SETTINGS)}"
        )
    if problems:
        raise AccountsFileError(path, problems)


def _check_secrets(columns: list[str], where: str) -> None:
    secret = [c for c in columns if any(word in c for word in SECRET_WORDS)]
    if secret:
        raise AccountsFileError(
            where.rsplit(":", 1)[0],
            [
                f"{where}: tokens must not be in the accounts file (column {_listed(secret)};"
                f" no value of it was used or shown). {TOKEN_PLACES}; then remove the column."
            ],
        )


def _accounts(path: str, rows: Iterator[Row]) -> AccountsFile:
    accounts: dict[str, FileAccount] = {}
    owners: dict[str, FileAccount] = {}
    problems: list[str] = []
    for where, values, found in rows:
        problems.extend(found)
        if values is None:
            continue
        try:
            account = _account(values, where)
        except ValueError as error:
            problems.append(f"{where}: {error}")
            continue
        if account.name in accounts:
            first = accounts[account.name].where
            problems.append(f"{where}: `{account.name}` is listed on {first} too; keep one row")
        elif account.account_id in owners:
            other = owners[account.account_id]
            problems.append(
                f"{where}: account_id `{account.account_id}` of `{account.name}` is also"
                f" `{other.name}`'s ({other.where}); keep one row per account"
            )
        else:
            accounts[account.name] = owners[account.account_id] = account
    if problems:
        raise AccountsFileError(path, problems)
    if not accounts:
        raise AccountsFileError(path, [_empty(path)])
    return AccountsFile(path, accounts)


def _account(values: Mapping[str, Any], where: str) -> FileAccount:
    name = _text(values.get("name"))
    if not name:
        raise ValueError("no `name`; every row needs one (how --accounts and the logs call it)")
    if not NAME.fullmatch(name):
        raise ValueError(
            f"`name` `{name}` must be lowercase letters, digits and underscores, starting with a"
            " letter: it names the account's token variable"
            " (SOURCES__LIVECHAT__ACCOUNTS__<NAME>__PERSONAL_ACCESS_TOKEN)"
        )
    account_id = _text(values.get("account_id"))
    if not account_id:
        raise ValueError(f"account `{name}` has no account_id; fill it in")
    settings: dict[str, Any] = {}
    for key, kind in SETTINGS.items():
        value = values.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        settings[key] = _setting(name, key, kind, value)
    shard = settings.pop("shard", None)
    return FileAccount(name, account_id, settings, shard, where)


def _setting(name: str, key: str, kind: type, value: Any) -> Any:
    shown = value if isinstance(value, str) else json.dumps(value)
    if key == "shard":
        parsed = None if isinstance(value, bool) else _parsed(key, value, int)
        if not isinstance(parsed, int) or parsed < 0:
            raise ValueError(
                f"`shard` `{shown}` of account `{name}` must be a whole number of 0 or more"
                " (or empty: a hash of the name picks the shard)"
            )
        return parsed
    if key == "start_date":
        try:
            return parse_date(value, key).isoformat()
        except ConfigurationError:
            raise ValueError(
                f"`start_date` `{shown}` of account `{name}` is not a date; write it as"
                " YYYY-MM-DD (or leave it empty for [sources.livechat]'s)"
            ) from None
    if key == "timezone":
        try:
            return validate_timezone(value)
        except ConfigurationError:
            raise ValueError(
                f"`timezone` `{shown}` of account `{name}` is not an IANA timezone; use a name"
                " like UTC or Europe/Warsaw (or leave it empty for [sources.livechat]'s)"
            ) from None
    parsed = _parsed(key, value, kind)
    if parsed is None:
        example = ' like {"agents": {"values": ["a@example.com"]}}' if kind is dict else ""
        raise ValueError(
            f"`{key}` `{shown}` of account `{name}` cannot be read as"
            f" {'a JSON object' if kind is dict else 'text'}{example}"
        )
    return parsed


def _parsed(key: str, value: Any, kind: type) -> Any:
    try:
        return deserialize_value(key, value, kind)
    except Exception:  # said by the caller, with the row
        return None


def _text(value: Any) -> str:
    """A name or account id: text, or a whole number in a JSON line; else ValueError."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"`{json.dumps(value)}` is not text; write names and ids as strings")
    return str(value).strip()


def _unknown(columns: list[str]) -> str:
    return (
        f"unknown column {_listed(columns)}; a row may give {', '.join(COLUMNS)} (other"
        " settings come from [sources.livechat] or the account's section)"
    )


def _listed(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _empty(path: str) -> str:
    return (
        f"Accounts file `{path}` lists no account; give a header line ({', '.join(REQUIRED)},"
        " and any settings) and one row per account, or unset accounts_file."
    )
