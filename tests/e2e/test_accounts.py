"""Many accounts through `livechat-reports load`: each account as if it were loaded alone."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from pipelines.cli import main
from pipelines.livechat_reports import build_pipeline
from sources.livechat.lineage import LINEAGE_TABLE
from sources.livechat.meaning import ACCOUNTS_TABLE
from sources.livechat_emulator import Emulator, ReportsAPI, Switches
from sources.livechat_emulator.accounts import Accounts
from tests.e2e.conftest import at, rehearse

NAMES = ("acme", "globex", "initech")
TODAY = dt.date(2026, 11, 18)  # the emulator's and the command's, rehearsed
# Each account's own settings, given in its section; its single-account load gets them as
# the [sources.livechat] settings.
OVERRIDES: dict[str, dict[str, str]] = {
    "globex": {"TIMEZONE": "Europe/Warsaw"},
    "initech": {"START_DATE": (TODAY - dt.timedelta(days=12)).isoformat()},
}


def token(name: str) -> str:
    return f"pat-{name}-7c1e"


@pytest.fixture
def accounts(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Emulator, Accounts]]:
    api = Accounts(
        *(
            ReportsAPI(
                account_id=f"{name}-id",
                personal_access_token=token(name),
                bearer_token=None,
                seed=index + 7,
                now=at(TODAY, 0) + 3600 * 6,
            )
            for index, name in enumerate(NAMES)
        )
    )
    rehearse(api, monkeypatch, at(TODAY, 0) + 3600 * 6)
    with Emulator(api) as emulator:
        yield emulator, api


def configure(emulator: Emulator, monkeypatch: pytest.MonkeyPatch, db: str | None) -> list[str]:
    """Set the account sections as environment variables; return the destination options."""
    monkeypatch.setenv("SOURCES__LIVECHAT__BASE_URL", emulator.url)
    monkeypatch.setenv("SOURCES__LIVECHAT__BACKOFF_SECONDS", "0")
    for key in ("ACCOUNT_ID", "PERSONAL_ACCESS_TOKEN"):  # sections replace the single account
        monkeypatch.delenv(f"SOURCES__LIVECHAT__CREDENTIALS__{key}", raising=False)
    for name in NAMES:
        prefix = f"SOURCES__LIVECHAT__ACCOUNTS__{name.upper()}__"
        monkeypatch.setenv(prefix + "ACCOUNT_ID", f"{name}-id")
        monkeypatch.setenv(prefix + "PERSONAL_ACCESS_TOKEN", token(name))
        for key, value in OVERRIDES.get(name, {}).items():
            monkeypatch.setenv(prefix + key, value)
    if db is None:
        return []
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", db)
    return ["--destination", "postgres"]


def as_single_account(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Configure `name` the way one account is configured today, and no account sections."""
    for n in NAMES:
        for key in ("ACCOUNT_ID", "PERSONAL_ACCESS_TOKEN", *OVERRIDES.get(n, {})):
            monkeypatch.delenv(f"SOURCES__LIVECHAT__ACCOUNTS__{n.upper()}__{key}", raising=False)
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID", f"{name}-id")
    monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN", token(name))
    for key in ("TIMEZONE", "START_DATE"):
        monkeypatch.delenv(f"SOURCES__LIVECHAT__{key}", raising=False)
    for key, value in OVERRIDES.get(name, {}).items():
        monkeypatch.setenv(f"SOURCES__LIVECHAT__{key}", value)


Query = Callable[..., list[tuple[Any, ...]]]


@contextmanager
def reader(db: str | None) -> Iterator[Query]:
    """Yield a query function on one connection to `db` (a PostgreSQL URL; None: the file).

    Opening a connection per query made comparing every table slow.
    """
    if db is None:
        pipeline = build_pipeline("reader", "duckdb", "livechat_reports", "livechat.duckdb")
    else:
        pipeline = build_pipeline("reader", "postgres", "livechat_reports", credentials=db)
    with pipeline.sql_client() as client:

        def run(sql: str, *params: Any) -> list[tuple[Any, ...]]:
            with client.execute_query(sql, *params) as cursor:
                return [tuple(row) for row in cursor.fetchall()]

        yield run


def query(db: str | None, dataset: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with reader(db) as run:
        return run(sql, *params)


def report_tables(run: Query, dataset: str) -> list[str]:
    rows = run(
        "select table_name from information_schema.tables"
        " where table_schema = %s and table_type = 'BASE TABLE'",
        dataset,
    )
    records = (LINEAGE_TABLE, ACCOUNTS_TABLE)  # what each load did, not the account's data
    return sorted(r[0] for r in rows if not r[0].startswith("_dlt") and r[0] not in records)


def table_rows(run: Query, dataset: str, table: str, account_id: str) -> list[tuple[Any, ...]]:
    columns = run(
        "select column_name from information_schema.columns"
        " where table_schema = %s and table_name = %s order by column_name",
        dataset,
        table,
    )
    names = ", ".join(c[0] for c in columns if not c[0].startswith("_dlt"))
    rows = run(f"select {names} from {dataset}.{table} where account_id = %s", account_id)
    return sorted(rows, key=repr)


def assert_equal_to_alone(db: str | None, name: str) -> None:
    """Every table of account `name` equals what its own load into `alone_<name>` gave."""
    with reader(db) as run:
        tables = report_tables(run, f"alone_{name}")
        assert set(tables) <= set(report_tables(run, "livechat_reports"))
        assert len(tables) >= 10
        compared = 0
        for table in tables:
            alone = table_rows(run, f"alone_{name}", table, f"{name}-id")
            together = table_rows(run, "livechat_reports", table, f"{name}-id")
            assert together == alone, f"{table} of {name} differs from its own load"
            compared += len(alone)
        assert compared > 100


def test_three_accounts_load_as_each_would_alone(
    accounts: tuple[Emulator, Accounts],
    destination: str | None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emulator, api = accounts
    options = configure(emulator, monkeypatch, destination)
    # Two runs: the second re-fetches the lookback days of all three accounts concurrently,
    # so a merge that forgot the account would delete the others' rows for those days.
    assert main(["load", *options]) == 0
    rehearse(api, monkeypatch, at(TODAY, 0) + 3600 * 20)
    assert main(["load", *options]) == 0
    out = capsys.readouterr().out
    assert "Loaded 3 of 3 accounts" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    for name in NAMES:
        assert lines[name].split()[1] == "ok", lines[name]
        assert f"account_id {name}-id" in lines[name]
    # The views are built once, after the loads (the second run finds them unchanged).
    assert out.count("views:") == 2 and "views: unchanged" in out
    # The three accounts are one shard (the default is one): one staging dataset, and one
    # load (one load job and one merge per table) per run, not one per account.
    schemas = {
        r[0]
        for r in query(
            destination, "livechat_reports", "select schema_name from information_schema.schemata"
        )
        if r[0].startswith("livechat_reports_staging")
    }
    assert schemas == {"livechat_reports_staging_shard_0"}
    loads = query(
        destination,
        "livechat_reports",
        "select count(*) from livechat_reports._dlt_loads",
    )
    assert loads[0][0] == 2
    # Each account had its own history: initech from its own start date, the others from
    # the default 30 days, none from another account's cursor.
    first_days = dict(
        query(
            destination,
            "livechat_reports",
            "select account_id, min(report_date) from livechat_reports.chats_total_chats"
            " group by account_id",
        )
    )
    assert first_days == {
        "acme-id": TODAY - dt.timedelta(days=30),
        "globex-id": TODAY - dt.timedelta(days=30),
        "initech-id": TODAY - dt.timedelta(days=12),
    }

    for name in NAMES:
        as_single_account(monkeypatch, name)
        single = [
            "--dataset",
            f"alone_{name}",
            "--pipeline-name",
            f"alone_{name}",
            "--no-transform",
        ]
        rehearse(api, monkeypatch, at(TODAY, 0) + 3600 * 6)
        assert main(["load", *options, *single]) == 0
        rehearse(api, monkeypatch, at(TODAY, 0) + 3600 * 20)
        assert main(["load", *options, *single]) == 0
        assert_equal_to_alone(destination, name)


def test_a_revoked_account_fails_alone(
    accounts: tuple[Emulator, Accounts],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator, api = accounts
    configure(emulator, monkeypatch, None)
    api.revoke("globex-id")
    caplog.set_level(logging.INFO, logger="livechat_reports")
    assert main(["load", "--no-transform"]) == 1
    # Each report's line names the account it belongs to.
    report_lines = [m for m in caplog.messages if " requests for " in m]
    assert report_lines
    assert all(m.startswith(("account acme: ", "account initech: ")) for m in report_lines)
    assert any(m.startswith("account initech: chats_total_chats: ") for m in report_lines)
    captured = capsys.readouterr()
    lines = {line.split()[0]: line for line in captured.out.splitlines() if line.startswith("  ")}
    assert "Loaded 2 of 3 accounts" in captured.out
    assert " ok " in lines["acme"] and " ok " in lines["initech"]
    assert "FAILED" in lines["globex"] and "HTTP 401" in lines["globex"]
    assert all(token(n) not in captured.out + captured.err for n in NAMES)
    loaded = dict(
        query(
            None,
            "livechat_reports",
            "select account_id, count(*) from livechat_reports.chats_total_chats"
            " group by account_id",
        )
    )
    assert loaded == {"acme-id": 31, "initech-id": 13}

    # Restored, globex loads its whole history from its own state, not the others' cursor.
    api.restore("globex-id")
    assert main(["load", "--no-transform", "--accounts", "globex"]) == 0
    assert "globex  ok" in capsys.readouterr().out
    first = query(
        None,
        "livechat_reports",
        "select min(report_date), count(*) from livechat_reports.chats_total_chats"
        " where account_id = 'globex-id'",
    )
    assert first == [(TODAY - dt.timedelta(days=30), 31)]


def test_retries_name_the_account_they_are_for(
    accounts: tuple[Emulator, Accounts],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Requests run on each account's pool threads; their retry warnings still say whose."""
    emulator, _ = accounts
    configure(emulator, monkeypatch, None)
    emulator.switches = Switches(faults={"500": 0.1}, fault_seed=3)
    caplog.set_level(logging.INFO, logger="livechat_reports")
    assert main(["load", "--no-transform", "--reports", "chats_total_chats,chats_ranking"]) == 0
    retries = [m for m in caplog.messages if "retrying in" in m]
    assert len(retries) >= 3
    assert all(m.startswith(tuple(f"account {n}: " for n in NAMES)) for m in retries), retries
    assert any(": HTTP 500 " in m for m in retries), retries


@pytest.mark.parametrize(
    ("argv", "unset", "words"),
    [
        (["--accounts", "acme,umbrella"], None, "No account section for `umbrella`"),
        ([], "GLOBEX__PERSONAL_ACCESS_TOKEN", "Account `globex` has no token"),
        ([], "ACME__ACCOUNT_ID", "Account `acme` has no account_id"),
        (["--account-concurrency", "0"], None, "--account-concurrency must be"),
        (["--timezone", "Mars/Olympus"], None, "Unknown timezone `Mars/Olympus`"),
    ],
)
def test_bad_account_configuration_exits_2_before_any_request(
    accounts: tuple[Emulator, Accounts],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    unset: str | None,
    words: str,
) -> None:
    emulator, _ = accounts
    configure(emulator, monkeypatch, None)
    if unset:
        monkeypatch.delenv(f"SOURCES__LIVECHAT__ACCOUNTS__{unset}")
    assert main(["load", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err
    assert "Traceback" not in err
    assert emulator.stats.total() == 0


def test_each_account_breaks_down_its_own_groups(
    accounts: tuple[Emulator, Accounts], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Group ids belong to one license: the breakdown and its groups are per account."""
    emulator, _ = accounts
    configure(emulator, monkeypatch, None)
    prefix = "SOURCES__LIVECHAT__ACCOUNTS__"
    monkeypatch.setenv(prefix + "GLOBEX__BREAKDOWNS", '["group"]')
    monkeypatch.setenv(prefix + "GLOBEX__BREAKDOWN_GROUPS", "[1]")  # as a TOML array arrives
    monkeypatch.setenv(prefix + "INITECH__BREAKDOWNS", "group")  # its groups found with chats
    assert main(["load", "--no-transform", "--reports", "chats_total_chats"]) == 0
    with reader(None) as run:
        groups = run(
            "select account_id, group_id, sum(total) from livechat_reports"
            ".chats_total_chats_by_group group by 1, 2 order by 1, 2"
        )
        first, last = run(
            "select min(report_date), max(report_date) from livechat_reports.chats_total_chats"
            " where account_id = 'globex-id'"
        )[0]
    assert [(a, g) for a, g, _ in groups] == [
        ("globex-id", "1"),
        ("initech-id", "0"),
        ("initech-id", "1"),
        ("initech-id", "2"),
    ]
    # globex's group 1 is what the API answers globex for it, in globex's own timezone
    zone = ZoneInfo(OVERRIDES["globex"]["TIMEZONE"])
    filters = {
        "from": dt.datetime.combine(first, dt.time(0), zone).isoformat(),
        "to": dt.datetime.combine(last, dt.time(23, 59, 59), zone).isoformat(),
        "groups": {"values": [1]},
    }
    answer = requests.post(
        f"{emulator.url}/v3.6/reports/chats/total_chats",
        json={"timezone": OVERRIDES["globex"]["TIMEZONE"], "filters": filters},
        auth=("globex-id", token("globex")),
        timeout=30,
    )
    assert answer.ok
    assert groups[0][2] == answer.json()["total"] > 0


def test_check_checks_every_account_with_its_own_token(
    accounts: tuple[Emulator, Accounts],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`check` with account sections: one request per account, each refusal said for its own."""
    emulator, api = accounts
    configure(emulator, monkeypatch, None)
    prefix = "SOURCES__LIVECHAT__ACCOUNTS__"
    monkeypatch.setenv(prefix + "GLOBEX__BREAKDOWNS", "group")
    monkeypatch.setenv(prefix + "ACME__TIMEZONE", "Mars/Olympus")
    assert main(["check"]) == 2  # a bad setting of any account, before any request
    assert "Account `acme`: Unknown timezone `Mars/Olympus`" in capsys.readouterr().err
    assert emulator.stats.total() == 0
    monkeypatch.delenv(prefix + "ACME__TIMEZONE")
    api.revoke("initech-id")
    assert main(["check"]) == 1
    out, err = capsys.readouterr()
    assert set(emulator.stats.requests_by_account) == {f"{n}-id" for n in NAMES}
    assert emulator.stats.total() == 3
    assert "Connection OK: account acme (account_id acme-id) can read reports" in out
    assert "Connection OK: account globex (account_id globex-id) can read reports" in out
    assert "in Europe/Warsaw:" in out  # globex's own timezone
    assert out.count("breakdown by group: ") == 1  # globex's own breakdown
    assert (
        "Connection check failed for account initech (account_id initech-id): " in err
        and "HTTP 401" in err
        and "in its section [sources.livechat.accounts.initech]" in err
    )
    assert "1 of 3 accounts failed the check." in err
    assert all(token(n) not in out + err for n in NAMES)
    emulator.stats.reset()
    assert main(["check", "--accounts", "acme"]) == 0
    assert set(emulator.stats.requests_by_account) == {"acme-id"}


def test_an_account_loaded_alone_before_keeps_its_meaning_as_a_section(
    accounts: tuple[Emulator, Accounts],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emulator, _ = accounts
    configure(emulator, monkeypatch, None)
    as_single_account(monkeypatch, "acme")
    assert main(["load", "--no-transform"]) == 0
    # Now a section of its own, with another timezone: its new pipeline has no state of its
    # own, so the rows it loaded as the single account are what it is compared with.
    configure(emulator, monkeypatch, None)
    monkeypatch.setenv("SOURCES__LIVECHAT__ACCOUNTS__ACME__TIMEZONE", "Europe/Warsaw")
    capsys.readouterr()
    emulator.stats.reset()
    assert main(["load", "--no-transform", "--accounts", "acme"]) == 2
    err = capsys.readouterr().err
    assert "Account `acme`: Dataset `livechat_reports` holds rows loaded with other settings" in err
    assert "`timezone` was `UTC`, this run asks for `Europe/Warsaw`" in err
    assert emulator.stats.total() == 0
    # Another account never loaded alone is not held back; acme with its old settings loads.
    monkeypatch.delenv("SOURCES__LIVECHAT__ACCOUNTS__ACME__TIMEZONE")
    assert main(["load", "--no-transform", "--accounts", "acme,initech"]) == 0


def test_a_changed_account_stops_only_runs_of_its_own_shard(
    accounts: tuple[Emulator, Accounts],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emulator, api = accounts
    configure(emulator, monkeypatch, None)
    monkeypatch.setenv("SOURCES__LIVECHAT__SHARDS", "2")
    for name, shard in (("acme", 0), ("globex", 1), ("initech", 1)):
        monkeypatch.setenv(f"SOURCES__LIVECHAT__ACCOUNTS__{name.upper()}__SHARD", str(shard))
    argv = ["load", "--no-transform", "--reports", "chats_total_chats"]
    assert main(argv) == 0
    capsys.readouterr()
    # globex (shard 1) changes its timezone: its rows would mean something else.
    monkeypatch.setenv("SOURCES__LIVECHAT__ACCOUNTS__GLOBEX__TIMEZONE", "Asia/Tokyo")
    emulator.stats.reset()
    assert main([*argv, "--shards", "1"]) == 2
    err = capsys.readouterr().err
    assert "Account `globex`" in err and "Asia/Tokyo" in err
    assert emulator.stats.total() == 0
    # A run of shard 0 alone is not stopped by it, and loads acme.
    rehearse(api, monkeypatch, at(TODAY, 0) + 3600 * 20)
    assert main([*argv, "--shards", "0"]) == 0
    out = capsys.readouterr().out
    assert "acme" in out and "globex" not in out
    assert set(emulator.stats.requests_by_account) == {"acme-id"}
