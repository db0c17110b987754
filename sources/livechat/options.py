"""The settings a command gives a load, typed: its own overrides, and each account's.

`LoadOptions` is what a run was told (the command line, Dagster's run config, the demo, a
library call): each field None when it was not given, so `[sources.livechat]` (or its
default) decides. It is built once per command and passed down as it is; `source_arguments`
is the one place it becomes the `livechat_reports` source's keyword arguments.

`AccountOverrides` is what an account's section (or its row of the accounts file) sets for
itself. The order of precedence is: the command line, then the account's own settings, then
`[sources.livechat]`, then the source's defaults.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .credentials import LiveChatCredentials

# The sections dlt reads the source's settings from: `livechat_reports(...)` is the source
# `livechat_reports` in section `livechat`.
SOURCE_SECTIONS = ("sources", "livechat", "livechat_reports")


@dataclass(frozen=True)
class LoadOptions:
    """A run's settings as given; None means not given (configuration or the default decides).

    The fields are the `livechat_reports` arguments of the same names (see its docstring).

    Attributes:
        resolved: Whether the configuration was read into the fields already
            (`sources.livechat.resolve_options`), so it is not read again.
        run_settings: When resolved, the names of the settings the run itself gave (they
            win over an account's own; those read from the configuration do not).
    """

    credentials: LiveChatCredentials | None = None
    base_url: str | None = None
    api_version: str | None = None
    timezone: str | None = None
    start_date: dt.date | str | None = None
    end_date: dt.date | str | None = None
    backfill: bool | None = None
    refresh: bool | None = None
    lookback_days: int | None = None
    window_days: int | None = None
    max_concurrency: int | None = None
    distribution: str | None = None
    reports: str | Sequence[str] | None = None
    filters: Mapping[str, Any] | None = None
    breakdowns: str | Sequence[str] | None = None
    breakdown_reports: str | Sequence[str] | None = None
    breakdown_groups: str | Sequence[int] | None = None
    request_timeout: float | None = None
    max_attempts: int | None = None
    backoff_seconds: float | None = None
    today: dt.date | None = None
    now: dt.datetime | None = None
    configured_accounts: Sequence[str] | None = None
    account_concurrency: int | None = None
    resolved: bool = False
    run_settings: frozenset[str] = frozenset()

    def given(self) -> dict[str, Any]:
        """The settings given, by name (those left None are not), read from config or not."""
        return {
            field.name: value
            for field in dataclasses.fields(self)
            if field.name not in _BOOKKEEPING and (value := getattr(self, field.name)) is not None
        }

    def given_by_run(self) -> frozenset[str]:
        """The names of the settings the run itself gave, not read from the configuration."""
        return self.run_settings if self.resolved else frozenset(self.given())

    def source_arguments(self) -> dict[str, Any]:
        """The `livechat_reports` keyword arguments these options give (only those given)."""
        arguments = self.given()
        if isinstance(arguments.get("filters"), Mapping):
            arguments["filters"] = dict(arguments["filters"])
        return arguments

    def replace(self, **changes: Any) -> LoadOptions:
        """A copy with some settings changed (None to take one back)."""
        return dataclasses.replace(self, **changes)


_BOOKKEEPING = ("resolved", "run_settings")


@dataclass(frozen=True, eq=False)
class AccountOverrides(Mapping[str, Any]):
    """The settings an account sets for itself, overriding `[sources.livechat]`'s.

    Group ids belong to one license, so the group breakdown is an account's own setting too.
    It reads as a mapping of the settings set (compared like one, too), so it can be spread
    over the source's arguments.
    """

    timezone: str | None = None
    filters: Mapping[str, Any] | None = None
    start_date: dt.date | str | None = None
    breakdowns: str | Sequence[str] | None = None
    breakdown_reports: str | Sequence[str] | None = None
    breakdown_groups: str | Sequence[int] | None = None

    # How each is read from a section: lists are text (a TOML array arrives as JSON), parsed
    # by the source like its own settings.
    READ_AS: ClassVar[dict[str, type]] = {
        "timezone": str,
        "filters": dict,
        "start_date": str,
        "breakdowns": str,
        "breakdown_reports": str,
        "breakdown_groups": str,
    }
    # What `check` takes of them: it loads nothing, so no start_date.
    CHECKED: ClassVar[tuple[str, ...]] = (
        "timezone",
        "filters",
        "breakdowns",
        "breakdown_reports",
        "breakdown_groups",
    )

    @classmethod
    def of(cls, settings: Mapping[str, Any]) -> AccountOverrides:
        """The overrides of a mapping of settings (a section's values, a row's settings).

        Raises:
            TypeError: On a name that is no account setting.
        """
        return cls(**settings)

    def given(self) -> dict[str, Any]:
        """The settings set, by name."""
        return {name: value for name in self.READ_AS if (value := getattr(self, name)) is not None}

    def without(self, options: LoadOptions) -> AccountOverrides:
        """The settings the run's `options` do not give: the command line wins over a section.

        Settings `options` read from `[sources.livechat]` do not: a section wins over those.
        """
        given = options.given_by_run()
        return AccountOverrides(**{k: v for k, v in self.given().items() if k not in given})

    def checked(self) -> AccountOverrides:
        """Those `check` takes (all but start_date)."""
        return AccountOverrides(**{k: v for k, v in self.given().items() if k in self.CHECKED})

    def __getitem__(self, key: str) -> Any:
        value = getattr(self, key, None) if key in self.READ_AS else None
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self.given())

    def __len__(self) -> int:
        return len(self.given())

    def __repr__(self) -> str:
        return f"AccountOverrides({self.given()!r})"
