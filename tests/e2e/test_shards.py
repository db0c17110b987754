"""Accounts in shards: one load per shard and run, each account as if loaded alone.

The accounts are the emulator's generated ones (`acct<i>`, token `token-acct<i>`), configured
as account sections in environment variables, loaded through `livechat-reports load`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from pipelines.accounts import Account, assign_shards
from pipelines.cli import main
from sources.livechat.credentials import PersonalAccessTokenCredentials
from sources.livechat_emulator import Emulator, GeneratedAccounts
from tests.e2e import legacy
from tests.e2e.conftest import at
from tests.e2e.test_accounts import reader, report_tables, table_rows

TODAY = dt.date(2026, 11, 20)
START = TODAY - dt.timedelta(days=2)
# Reports of each kind (series, per-day range, paged, period), so every merge shape is
# loaded, and few enough that 120 accounts stay quick.
REPORTS = (
    "chats_total_chats,chats_tags,chats_ranking,chats_queued_visitors_left,"
    "customers_unique_visitors_by_period"
)
# Longer than the lookback: a run that lost an account's cursor would ask for it again.
HISTORY = TODAY - dt.timedelta(days=9)
RECORDS = ("report_requests", "account_loads")  # what each load did, and when


def set_clock(
    api: GeneratedAccounts, monkeypatch: pytest.MonkeyPatch, day: dt.date, hour: int
) -> None:
    """Move the emulator's clock and the command's rehearsed one to the same instant."""
    api.now = at(day, hour)
    instant = dt.datetime.fromtimestamp(api.now, dt.timezone.utc)
    monkeypatch.setenv("LIVECHAT_REPORTS_NOW", instant.isoformat())


def names(count: int) -> list[str]:
    return [f"acct{i}" for i in range(count)]


@pytest.fixture
def generated() -> Iterator[tuple[Emulator, GeneratedAccounts]]:
    api = GeneratedAccounts(150, now=at(TODAY, 6))
    with Emulator(api) as emulator:
        yield emulator, api


def configure(
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    accounts: list[str],
    shards: int,
    db: str | None,
    start: dt.date = START,
) -> list[str]:
    """Configure `accounts` as sections and `shards`; return the destination options."""
    monkeypatch.setenv("SOURCES__LIVECHAT__BASE_URL", emulator.url)
    monkeypatch.setenv("SOURCES__LIVECHAT__BACKOFF_SECONDS", "0")
    monkeypatch.setenv("SOURCES__LIVECHAT__MAX_ATTEMPTS", "2")
    monkeypatch.setenv("SOURCES__LIVECHAT__START_DATE", start.isoformat())
    monkeypatch.setenv("SOURCES__LIVECHAT__SHARDS", str(shards))
    monkeypatch.setenv("SOURCES__LIVECHAT__REPORTS", REPORTS)
    for name in accounts:
        prefix = f"SOURCES__LIVECHAT__ACCOUNTS__{name.upper()}__"
        monkeypatch.setenv(prefix + "ACCOUNT_ID", name)
        monkeypatch.setenv(prefix + "PERSONAL_ACCESS_TOKEN", f"token-{name}")
    if db is None:
        return []
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", db)
    return ["--destination", "postgres"]


def account_rows(db: str | None, dataset: str, account: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every data table's rows of one account (not the per-load records)."""
    with reader(db) as run:
        return {
            table: table_rows(run, dataset, table, account)
            for table in report_tables(run, dataset)
            if table not in RECORDS
        }


def count(db: str | None, sql: str) -> Any:
    with reader(db) as run:
        return run(sql)[0][0]


def test_accounts_load_in_shards_as_alone_and_fail_alone(
    generated: tuple[Emulator, GeneratedAccounts],
    destination: str | None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emulator, api = generated
    accounts = names(120)
    options = configure(emulator, monkeypatch, accounts, 4, destination)
    set_clock(api, monkeypatch, TODAY, 6)
    api.revoke("acct5")
    api["acct9"].failing = frozenset({"chats/ranking"})

    assert main(["load", "--no-transform", *options]) == 1
    out = capsys.readouterr().out
    assert "Loaded 118 of 120 accounts" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  acct")}
    assert "FAILED" in lines["acct5"] and "401" in lines["acct5"]
    assert "FAILED" in lines["acct9"] and "chats/ranking" in lines["acct9"]
    assert all(line.split()[1] == "ok" for n, line in lines.items() if n not in ("acct5", "acct9"))
    # one load (one load job and one merge per table) per shard, one staging dataset each
    assert count(destination, "select count(*) from livechat_reports._dlt_loads") == 4
    with reader(destination) as run:
        schemas = {r[0] for r in run("select schema_name from information_schema.schemata")}
    assert {s for s in schemas if "staging" in s} == {
        f"livechat_reports_staging_shard_{k}" for k in range(4)
    }
    # the failed accounts wrote nothing, and their cursors did not move
    for table in ("chats_total_chats", "account_cursors", "account_loads", "report_requests"):
        assert not count(
            destination,
            f"select count(*) from livechat_reports.{table} where account_id in ('acct5', 'acct9')",
        ), table

    api.restore("acct5")
    api["acct9"].failing = frozenset()
    set_clock(api, monkeypatch, TODAY, 20)
    assert main(["load", "--no-transform", *options]) == 0
    assert "Loaded 120 of 120 accounts" in capsys.readouterr().out
    assert count(destination, "select count(*) from livechat_reports._dlt_loads") == 8

    sampled = ["acct5", "acct9", *(f"acct{i}" for i in range(10, 120, 14))]
    assert len(sampled) == 10
    for name in sampled:  # each alone, at once from START, into a dataset of its own
        alone = ["--accounts", name, "--dataset", f"alone_{name}", "--pipeline-name", name]
        assert main(["load", "--no-transform", *alone, *options]) == 0
        together = account_rows(destination, "livechat_reports", name)
        assert together == account_rows(destination, f"alone_{name}", name), name
        assert sum(len(rows) for rows in together.values()) > 30


def second_run_windows(db: str | None, dataset: str) -> set[tuple[Any, ...]]:
    """The (account, report, first day, last day) of every request of the dataset's last load."""
    with reader(db) as run:
        return set(
            run(
                "select account_id, report, min(window_from), max(window_to)"
                f" from {dataset}.report_requests where period is null and _dlt_load_id in"
                f" (select _dlt_load_id from {dataset}.report_requests"
                "  where requested_at >= %s)"
                " group by 1, 2",
                dt.datetime.combine(TODAY, dt.time(12)),
            )
        )


def test_changing_the_number_of_shards_reloads_only_the_lookback(
    generated: tuple[Emulator, GeneratedAccounts],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator, api = generated
    accounts = names(20)
    configure(emulator, monkeypatch, accounts, 4, None, HISTORY)
    moved = [
        a
        for a in accounts
        if assign_shards([_account(a)], 4).keys() != assign_shards([_account(a)], 6).keys()
    ]
    assert moved  # the change moves accounts to other shards
    for dataset in ("resharded", "control"):
        argv = ["load", "--no-transform", "--dataset", dataset, "--pipeline-name", dataset]
        monkeypatch.setenv("SOURCES__LIVECHAT__SHARDS", "4")
        set_clock(api, monkeypatch, TODAY, 6)
        assert main(argv) == 0
        monkeypatch.setenv("SOURCES__LIVECHAT__SHARDS", "6" if dataset == "resharded" else "4")
        set_clock(api, monkeypatch, TODAY + dt.timedelta(days=1), 13)
        assert main(argv) == 0

    resharded = second_run_windows(None, "resharded")
    # every account asked for the lookback days only, as without the change
    assert resharded == second_run_windows(None, "control")
    assert {first for _, _, first, _ in resharded} == {TODAY - dt.timedelta(days=3)}
    for name in accounts:
        assert account_rows(None, "resharded", name) == account_rows(None, "control", name)


def _account(name: str) -> Account:
    credentials = PersonalAccessTokenCredentials()
    credentials.account_id, credentials.personal_access_token = name, f"token-{name}"
    return Account(name, credentials)


def test_per_account_pipelines_move_to_shards_without_reloading_history(
    generated: tuple[Emulator, GeneratedAccounts],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator, api = generated
    accounts = names(6)
    configure(emulator, monkeypatch, accounts, 2, None, HISTORY)
    # The previous version: a pipeline per account, cursors and meaning in its dlt state.
    for dataset in ("migrated", "control"):
        sharded = ["load", "--no-transform", "--dataset", dataset, "--pipeline-name", dataset]
        set_clock(api, monkeypatch, TODAY, 6)
        if dataset == "migrated":
            with monkeypatch.context() as old:
                legacy.old_version(old)
                for name in accounts:
                    argv = ["--accounts", name, "--pipeline-name", f"migrated_{name}"]
                    assert main(["load", "--no-transform", "--dataset", dataset, *argv]) == 0
            assert not count(
                None, "select count(*) from information_schema.tables"
                " where table_name = 'account_cursors' and table_schema = 'migrated'"
            )  # fmt: skip
        else:
            assert main(sharded) == 0
        set_clock(api, monkeypatch, TODAY + dt.timedelta(days=1), 13)
        assert main(sharded) == 0

    migrated = second_run_windows(None, "migrated")
    assert migrated == second_run_windows(None, "control")  # no history loaded again
    assert {first for _, _, first, _ in migrated} == {TODAY - dt.timedelta(days=3)}
    for name in accounts:
        assert account_rows(None, "migrated", name) == account_rows(None, "control", name)


def test_shards_left_fetching_use_the_whole_request_pool(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shards fetching at once share one pool: `max_concurrency` per shard, in total.

    Shard 0's only account fails at its first request, so shard 1 soon fetches alone: its
    requests then use the whole pool (4), where a pool of its own would have kept them at 2.
    """
    from sources.livechat_emulator import Switches

    api = GeneratedAccounts(8, now=at(TODAY, 6))
    with Emulator(api, Switches(latency_ms=40)) as emulator:
        accounts = names(8)
        configure(emulator, monkeypatch, accounts, 2, None)
        set_clock(api, monkeypatch, TODAY, 6)
        monkeypatch.setenv("SOURCES__LIVECHAT__MAX_CONCURRENCY", "2")
        for name in accounts:
            shard = "0" if name == "acct0" else "1"
            monkeypatch.setenv(f"SOURCES__LIVECHAT__ACCOUNTS__{name.upper()}__SHARD", shard)
        api.revoke("acct0")

        assert main(["load", "--no-transform"]) == 1
        assert "Loaded 7 of 8 accounts" in capsys.readouterr().out
        # 2 shards fetching at once x 2 requests each: never more, and shard 1 reached it alone
        assert emulator.stats.max_in_flight == 4
