"""A run's settings, typed: built once from the command line, Dagster's config or a section.

Precedence: the command line, then the account's section, then `[sources.livechat]`, then
the source's defaults; the configuration is read once per command.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import pytest
from dlt.common.configuration.container import Container
from dlt.common.configuration.providers import EnvironProvider, StringTomlProvider
from dlt.common.configuration.specs import PluggableRunContext

import sources.livechat as source_package
from pipelines.accounts import Account, plan_shards, validate_accounts
from pipelines.cli import build_parser, load_options
from sources.livechat import AccountOverrides, LoadOptions, build_load, resolve_options
from sources.livechat.credentials import PersonalAccessTokenCredentials

CONFIG = """
[sources.livechat]
timezone = "Asia/Tokyo"
lookback_days = 5
reports = "chats_total_chats"
filters = { groups = { values = [0] } }
"""


@pytest.fixture
def config(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`[sources.livechat]` as CONFIG says, and the environment without LiveChat settings."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("SOURCES__") or key == "LIVECHAT_REPORTS_NOW":
            monkeypatch.delenv(key)
    container = Container()[PluggableRunContext].providers
    monkeypatch.setattr(container, "providers", [EnvironProvider(), StringTomlProvider(CONFIG)])
    yield


def credentials(account_id: str) -> PersonalAccessTokenCredentials:
    creds = PersonalAccessTokenCredentials()
    creds.account_id, creds.personal_access_token = account_id, "pat"
    return creds


def account(name: str, **overrides: Any) -> Account:
    return Account(name, credentials(f"{name}-id"), AccountOverrides.of(overrides))


def test_the_command_line_gives_only_what_was_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIVECHAT_REPORTS_NOW", raising=False)
    parser = build_parser()
    assert load_options(parser.parse_args(["load"])).given() == {}
    typed = load_options(
        parser.parse_args(
            [
                *("load", "--start-date", "2024-01-01", "--reports", "a,b"),
                *("--timezone", "Europe/Warsaw", "--breakdown", "group", "--refresh"),
                *("--lookback-days", "2", "--account-concurrency", "3"),
            ]
        )
    )
    assert typed.given() == {
        "start_date": dt.date(2024, 1, 1),
        "backfill": True,  # a date range is a backfill
        "refresh": True,
        "reports": "a,b",
        "timezone": "Europe/Warsaw",
        "breakdowns": "group",
        "lookback_days": 2,
        "account_concurrency": 3,
    }
    checked = load_options(parser.parse_args(["check", "--base-url", "http://127.0.0.1:1"]))
    assert checked.given() == {"base_url": "http://127.0.0.1:1"}


def test_the_rehearsed_clock_is_an_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVECHAT_REPORTS_NOW", "2026-11-08T06:15:00+00:00")
    options = load_options(build_parser().parse_args(["load"]))
    assert options.now == dt.datetime(2026, 11, 8, 6, 15, tzinfo=dt.timezone.utc)


def test_dagster_run_config_gives_only_what_it_sets() -> None:
    from pipelines.orchestration.loads import LoadConfig

    assert LoadConfig().load_options().given() == {}
    config = LoadConfig(start_date="2024-01-01", end_date="2024-01-31", backfill=True)
    assert config.load_options().given() == {
        "start_date": "2024-01-01",
        "end_date": "2024-01-31",
        "backfill": True,
    }
    assert LoadConfig(refresh=True).load_options().given() == {"refresh": True}


def test_an_account_section_becomes_typed_overrides() -> None:
    overrides = AccountOverrides.of({"timezone": "Europe/Warsaw", "start_date": "2024-01-01"})
    assert overrides.timezone == "Europe/Warsaw"
    assert overrides == {"timezone": "Europe/Warsaw", "start_date": "2024-01-01"}
    assert dict(overrides.checked()) == {"timezone": "Europe/Warsaw"}  # check loads no days
    assert dict(overrides.without(LoadOptions(timezone="UTC"))) == {"start_date": "2024-01-01"}
    with pytest.raises(TypeError):
        AccountOverrides.of({"shard": 1})  # a shard is no setting of the source


def test_the_source_takes_the_given_options_as_its_arguments() -> None:
    options = LoadOptions(timezone="UTC", filters={"tags": {"exists": True}}, backfill=False)
    assert options.source_arguments() == {
        "timezone": "UTC",
        "filters": {"tags": {"exists": True}},
        "backfill": False,
    }


@pytest.mark.parametrize(
    ("command", "section", "timezone"),
    [
        (None, None, "Asia/Tokyo"),  # [sources.livechat]
        (None, "Europe/Warsaw", "Europe/Warsaw"),  # the section over [sources.livechat]
        ("America/Lima", "Europe/Warsaw", "America/Lima"),  # the command line over both
    ],
)
def test_precedence_command_line_section_config(
    config: None, command: str | None, section: str | None, timezone: str
) -> None:
    overrides = {"timezone": section} if section else {}
    (run,) = validate_accounts([account("acme", **overrides)], LoadOptions(timezone=command))
    assert run.settings.timezone == timezone
    assert run.settings.lookback_days == 5  # [sources.livechat]
    assert run.settings.window_days == 31  # the source's default


def test_a_section_filter_wins_over_the_configured_one_and_the_command_line_over_both(
    config: None,
) -> None:
    mine = {"tags": {"exists": True}}
    (configured, own) = validate_accounts(
        [account("acme"), account("globex", filters=mine)], LoadOptions()
    )
    assert configured.settings.filters == {"groups": {"values": [0]}}
    assert own.settings.filters == mine
    (given,) = validate_accounts([account("globex", filters=mine)], LoadOptions(filters={}))
    assert given.settings.filters == {}


def test_the_configuration_is_read_once_per_command(
    config: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Any] = []
    original = source_package.resolve_configuration

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(source_package, "resolve_configuration", counted)
    accounts = [account(name) for name in ("acme", "globex", "initech", "hooli")]
    plan = plan_shards(accounts, LoadOptions(), pipeline_name="p", shards=3)
    assert len(plan.shards) > 1
    assert len(reads) == 1
    assert sorted(a.name for a in plan.accounts) == sorted(a.name for a in accounts)


def test_resolved_options_are_not_read_again(config: None, monkeypatch: pytest.MonkeyPatch) -> None:
    resolved = resolve_options(LoadOptions(credentials=credentials("acme-id")))
    assert resolved.resolved and resolved.timezone == "Asia/Tokyo"
    assert resolve_options(resolved) is resolved
    monkeypatch.setenv("SOURCES__LIVECHAT__TIMEZONE", "Europe/Warsaw")
    (run,) = build_load(resolved).accounts
    assert run.settings.timezone == "Asia/Tokyo"
    (again,) = build_load(LoadOptions(credentials=credentials("acme-id"))).accounts
    assert again.settings.timezone == "Europe/Warsaw"  # the environment wins over the file


def test_resolved_options_remember_what_the_run_gave(config: None) -> None:
    resolved = resolve_options(LoadOptions(timezone="America/Lima"), credentials_required=False)
    assert resolved.filters == {"groups": {"values": [0]}}  # read from [sources.livechat]
    assert resolved.given_by_run() == {"timezone"}
    own = AccountOverrides.of({"timezone": "Europe/Warsaw", "filters": {"tags": {"exists": True}}})
    # The command line's timezone wins over the section's; the section's filters over config's.
    assert dict(own.without(resolved)) == {"filters": {"tags": {"exists": True}}}
