"""The dataset records each account's meaning and loads, whatever pipeline writes it.

Through the command, as users meet each case: a second pipeline name or an account section
writing an account's rows with another timezone, a dataset loaded before the record existed,
a revoked token and a removed account section seen in `account_freshness` and its test, and
`[sources.livechat.credentials]` left beside account sections.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from sources.livechat_emulator import Emulator, ReportsAPI
from sources.livechat_emulator.accounts import Accounts
from tests.e2e import legacy

REPORTS = "chats_total_chats,chats_ratings"
# A daily 06:15 schedule, rehearsed with LIVECHAT_REPORTS_NOW against the emulator's clock.
FIRST_RUN = dt.datetime(2026, 11, 9, 6, 15, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)


def token(name: str) -> str:
    return f"pat-{name}-3f9a"


@pytest.fixture
def accounts() -> Iterator[tuple[Emulator, Accounts]]:
    api = Accounts(
        *(
            ReportsAPI(
                account_id=f"{name}-id",
                personal_access_token=token(name),
                bearer_token=None,
                seed=index + 3,
                now=FIRST_RUN.timestamp(),
            )
            for index, name in enumerate(("acme", "globex"))
        )
    )
    with Emulator(api) as emulator:
        yield emulator, api


class Command:
    """Runs `livechat-reports` against the emulator into one DuckDB file or PostgreSQL database."""

    def __init__(
        self,
        emulator: Emulator,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
        postgres: str | None,
    ) -> None:
        self.emulator, self.monkeypatch, self.postgres = emulator, monkeypatch, postgres
        monkeypatch.setenv("SOURCES__LIVECHAT__BASE_URL", emulator.url)
        monkeypatch.setenv("SOURCES__LIVECHAT__BACKOFF_SECONDS", "0")
        monkeypatch.setenv("SOURCES__LIVECHAT__START_DATE", "2026-11-01")
        if postgres:
            monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres)
            self.where = ["--destination", "postgres"]
        else:
            self.where = ["--duckdb-file", str(tmp_path / "lc.duckdb")]

    def single(self, name: str) -> None:
        """Configure `name` as the one account of [sources.livechat.credentials]."""
        self.monkeypatch.setenv("SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID", f"{name}-id")
        self.monkeypatch.setenv(
            "SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN", token(name)
        )

    def no_single(self) -> None:
        for key in ("ACCOUNT_ID", "PERSONAL_ACCESS_TOKEN"):
            self.monkeypatch.delenv(f"SOURCES__LIVECHAT__CREDENTIALS__{key}", raising=False)

    def section(self, name: str, **settings: str) -> None:
        """Configure `name` as an account section, with its own settings."""
        prefix = f"SOURCES__LIVECHAT__ACCOUNTS__{name.upper()}__"
        self.monkeypatch.setenv(prefix + "ACCOUNT_ID", f"{name}-id")
        self.monkeypatch.setenv(prefix + "PERSONAL_ACCESS_TOKEN", token(name))
        for key, value in settings.items():
            self.monkeypatch.setenv(prefix + key.upper(), value)

    def remove_section(self, name: str) -> None:
        prefix = f"SOURCES__LIVECHAT__ACCOUNTS__{name.upper()}__"
        for key in ("ACCOUNT_ID", "PERSONAL_ACCESS_TOKEN", "TIMEZONE"):
            self.monkeypatch.delenv(prefix + key, raising=False)

    def at(self, now: dt.datetime) -> None:
        """Rehearse the schedule at `now`: the emulator's clock and the command's."""
        self.emulator.api.now = now.timestamp()
        self.monkeypatch.setenv("LIVECHAT_REPORTS_NOW", now.isoformat())

    def load(self, *argv: str) -> int:
        return main(["load", *self.where, "--reports", REPORTS, *argv])

    def run(self, *argv: str) -> int:
        return main([*argv, *self.where])

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.postgres:
            import psycopg2

            with psycopg2.connect(self.postgres) as connection, connection.cursor() as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall())
        import duckdb

        with duckdb.connect(self.where[1], read_only=True) as connection:
            return connection.execute(sql).fetchall()

    def days(self, account: str) -> list[tuple[Any, ...]]:
        return self.query(
            "select report_date, total from livechat_reports.chats_total_chats"
            f" where account_id = '{account}-id' order by report_date"
        )

    def freshness(self) -> dict[str, tuple[Any, ...]]:
        rows = self.query(
            "select account_id, last_complete_day, last_loaded_at, is_configured"
            " from livechat_reports.account_freshness"
        )
        return {r[0]: tuple(r[1:]) for r in rows}


@pytest.fixture
def command(
    accounts: tuple[Emulator, Accounts],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    destination: str | None,
) -> Command:
    return Command(accounts[0], monkeypatch, tmp_path, destination)


def refused(command: Command, capsys: Any, *argv: str, old: str, new: str) -> None:
    """The load exits 2 naming the old and new value and the ways out, and asks nothing."""
    command.emulator.stats.reset()
    capsys.readouterr()
    assert command.load(*argv) == 2
    err = capsys.readouterr().err
    assert f"`{old}`" in err and f"`{new}`" in err, err
    assert "--dataset" in err and "--refresh" in err, err
    assert command.emulator.stats.total() == 0


def test_another_pipeline_name_cannot_load_another_timezone_into_the_dataset(
    command: Command, capsys: Any
) -> None:
    command.single("acme")
    command.at(FIRST_RUN)
    assert command.load("--no-transform") == 0
    loaded = command.days("acme")

    refused(
        command, capsys, "--pipeline-name", "second", "--timezone", "Europe/Warsaw",
        old="UTC", new="Europe/Warsaw",
    )  # fmt: skip
    assert command.days("acme") == loaded
    # the same settings under another name are the same meaning: accepted
    assert command.load("--pipeline-name", "second", "--no-transform") == 0
    assert command.days("acme") == loaded
    # and a refresh under any name replaces the meaning, which the first name then must follow
    argv = ("--pipeline-name", "second", "--timezone", "Europe/Warsaw", "--refresh")
    assert command.load(*argv, "--no-transform") == 0
    refused(command, capsys, old="Europe/Warsaw", new="UTC")


def test_an_account_section_cannot_load_another_timezone_into_the_accounts_rows(
    command: Command, capsys: Any
) -> None:
    # loaded as the single account under a pipeline name of its own
    command.single("acme")
    command.at(FIRST_RUN)
    assert command.load("--pipeline-name", "nightly", "--no-transform") == 0
    loaded = command.days("acme")
    # then moved into a section, with another timezone, loaded by the default pipeline name
    command.no_single()
    command.section("acme", timezone="Europe/Warsaw")
    refused(command, capsys, old="UTC", new="Europe/Warsaw")
    # the sections loaded under one pipeline name, then another: the record is the dataset's
    command.section("acme", timezone="UTC")
    assert command.load("--pipeline-name", "p1", "--no-transform") == 0
    command.section("acme", timezone="America/New_York")
    refused(command, capsys, "--pipeline-name", "p2", old="UTC", new="America/New_York")
    assert command.days("acme") == loaded


def test_a_dataset_loaded_before_the_record_existed_keeps_its_meaning(
    command: Command, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    command.single("acme")
    command.at(FIRST_RUN)
    with monkeypatch.context() as old_version:  # the previous version wrote no account_loads
        legacy.old_version(old_version)
        assert command.load("--no-transform") == 0
    assert "account_loads" not in {
        name
        for (name,) in command.query(
            "select table_name from information_schema.tables"
            " where table_schema = 'livechat_reports'"
        )
    }

    refused(command, capsys, "--timezone", "Europe/Warsaw", old="UTC", new="Europe/Warsaw")
    # another pipeline name finds the meaning in the state of the pipeline that loaded it
    refused(
        command, capsys, "--pipeline-name", "other", "--timezone", "Europe/Warsaw",
        old="UTC", new="Europe/Warsaw",
    )  # fmt: skip
    command.at(FIRST_RUN + DAY)
    assert command.load("--no-transform") == 0  # unchanged: accepted, and it writes the row
    assert command.query(
        "select account_id, timezone, distribution, filters from livechat_reports.account_loads"
    ) == [("acme-id", "UTC", "day", "{}")]
    # now the row is the record, for any pipeline name
    refused(
        command, capsys, "--pipeline-name", "other", "--timezone", "Europe/Warsaw",
        old="UTC", new="Europe/Warsaw",
    )  # fmt: skip


def test_a_revoked_account_is_stale_and_fails_the_freshness_test(
    command: Command, accounts: tuple[Emulator, Accounts], capsys: Any
) -> None:
    _, api = accounts
    command.section("acme")
    command.section("globex")
    command.at(FIRST_RUN)
    assert command.load() == 0
    api.revoke("globex-id")
    for day in (1, 2):  # two daily runs: globex fails, acme goes on
        command.at(FIRST_RUN + day * DAY)
        assert command.load() == 1

    fresh = command.freshness()
    acme, globex = fresh["acme-id"], fresh["globex-id"]
    assert acme[0] == (FIRST_RUN + DAY).date()  # the day before the last run is complete
    assert globex[0] == (FIRST_RUN - DAY).date()
    assert globex[1] < FIRST_RUN + DAY / 24 < FIRST_RUN + 2 * DAY <= acme[1]
    assert acme[2] is True and globex[2] is True

    capsys.readouterr()
    assert command.run("transform") == 1
    err = capsys.readouterr().err
    assert "configured_accounts_loaded_recently" in err and "globex-id" in err, err
    assert "acme-id" not in err
    # within the threshold both pass
    command.at(FIRST_RUN + DAY)
    assert command.run("transform") == 0


def test_a_removed_account_section_reads_not_configured_after_the_next_load(
    command: Command, capsys: Any
) -> None:
    command.section("acme")
    command.section("globex")
    command.at(FIRST_RUN)
    assert command.load() == 0
    assert {k: v[2] for k, v in command.freshness().items()} == {
        "acme-id": True,
        "globex-id": True,
    }

    command.remove_section("globex")
    command.at(FIRST_RUN + 2 * DAY)
    assert command.load() == 0
    fresh = command.freshness()
    assert fresh["globex-id"][2] is False and fresh["acme-id"][2] is True
    assert fresh["globex-id"][1] < fresh["acme-id"][1]
    assert command.run("transform") == 0  # globex is not configured: its age fails nothing


@pytest.mark.parametrize("what", ["load", "check"])
def test_credentials_beside_account_sections_are_refused_before_any_request(
    accounts: tuple[Emulator, Accounts],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: Any,
    what: str,
) -> None:
    emulator, _ = accounts
    command = Command(emulator, monkeypatch, tmp_path, None)
    command.section("acme")
    command.single("globex")  # a single account someone forgot to move

    code = command.load() if what == "load" else main(["check"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "[sources.livechat.credentials]" in err and "globex-id" in err, err
    assert "[sources.livechat.accounts.acme]" in err, err
    assert "pat-globex" not in err
    assert emulator.stats.total() == 0
    assert not (tmp_path / "lc.duckdb").exists()
