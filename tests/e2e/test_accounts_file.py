"""Accounts listed in a file (CSV, JSON lines) through `livechat-reports`: as their sections load.

The accounts are `test_accounts`'s three (`acme`, `globex`, `initech` behind one emulator);
their tokens are environment variables under the names a section's would have, never in the
file.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from sources.livechat_emulator import Emulator
from sources.livechat_emulator.accounts import Accounts
from tests.e2e.test_accounts import (
    NAMES,
    TODAY,
    accounts,  # noqa: F401  (the fixture)
    reader,
    report_tables,
    table_rows,
    token,
)

ENV = "SOURCES__LIVECHAT__ACCOUNTS__"
# Reports of each kind (series, per-day range, paged, period); acme's breaks down by group.
REPORTS = "chats_total_chats,chats_tags,chats_ranking,chats_queued_visitors_left"
START = TODAY - dt.timedelta(days=3)
# Each account's own settings, in its section or in its row: lists as text, a shard of its own.
SETTINGS: dict[str, dict[str, Any]] = {
    "acme": {"breakdowns": "group", "breakdown_groups": "1"},
    "globex": {"timezone": "Europe/Warsaw", "shard": 0},  # its name's hash says 1
    "initech": {"start_date": (TODAY - dt.timedelta(days=6)).isoformat()},
}
COLUMNS = [
    "name",
    "account_id",
    "timezone",
    "start_date",
    "shard",
    "breakdowns",
    "breakdown_groups",
]


def base(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings of every account, and each account's token where a section's would be."""
    monkeypatch.setenv("SOURCES__LIVECHAT__BASE_URL", emulator.url)
    monkeypatch.setenv("SOURCES__LIVECHAT__BACKOFF_SECONDS", "0")
    monkeypatch.setenv("SOURCES__LIVECHAT__START_DATE", START.isoformat())
    monkeypatch.setenv("SOURCES__LIVECHAT__SHARDS", "2")
    for key in ("ACCOUNT_ID", "PERSONAL_ACCESS_TOKEN"):
        monkeypatch.delenv(f"SOURCES__LIVECHAT__CREDENTIALS__{key}", raising=False)
    for name in NAMES:
        monkeypatch.setenv(f"{ENV}{name.upper()}__PERSONAL_ACCESS_TOKEN", token(name))


def as_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCES__LIVECHAT__ACCOUNTS_FILE", raising=False)
    for name in NAMES:
        monkeypatch.setenv(f"{ENV}{name.upper()}__ACCOUNT_ID", f"{name}-id")
        for key, value in SETTINGS[name].items():
            monkeypatch.setenv(f"{ENV}{name.upper()}__{key.upper()}", str(value))


def as_file(monkeypatch: pytest.MonkeyPatch, name: str, rows: list[dict[str, Any]]) -> None:
    """List `rows` in file `name` (CSV or JSON lines) and drop the sections but their tokens."""
    for account in NAMES:
        for key in ("ACCOUNT_ID", *(k.upper() for k in SETTINGS[account])):
            monkeypatch.delenv(f"{ENV}{account.upper()}__{key}", raising=False)
    path = Path(name)
    if path.suffix == ".csv":
        columns = list(dict.fromkeys(key for row in rows for key in row))
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            writer.writerows(rows)
    else:
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    monkeypatch.setenv("SOURCES__LIVECHAT__ACCOUNTS_FILE", name)


def rows(native: bool = False) -> list[dict[str, Any]]:
    """The three accounts as rows: text for a CSV, JSON's own types (`native`) for JSON lines."""
    listed = []
    for name in NAMES:
        row: dict[str, Any] = {"name": name, "account_id": f"{name}-id"}
        for key, value in SETTINGS[name].items():
            row[key] = [int(value)] if native and key == "breakdown_groups" else value
        listed.append(row)
    return listed


def test_accounts_of_a_csv_and_a_json_lines_file_load_as_their_sections(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator, _ = accounts
    caplog.set_level(logging.INFO)
    base(emulator, monkeypatch)
    load = ["load", "--no-transform", "--reports", REPORTS]
    as_sections(monkeypatch)
    assert main(load) == 0
    from_sections = emulator.stats.total()
    datasets = {"accounts.csv": "from_csv", "accounts.jsonl": "from_jsonl"}
    for name, dataset in datasets.items():
        as_file(monkeypatch, name, rows(native=name.endswith(".jsonl")))
        emulator.stats.reset()
        assert main([*load, "--dataset", dataset, "--pipeline-name", dataset]) == 0
        assert emulator.stats.total() == from_sections, name
    out, err = capsys.readouterr()
    assert out.count("Loaded 3 of 3 accounts") == 3
    assert all(token(n) not in out + err + caplog.text for n in NAMES)

    with reader(None) as run:
        tables = report_tables(run, "livechat_reports")
        assert "chats_total_chats_by_group" in tables  # acme's own breakdown, from its row
        compared = 0
        for dataset in datasets.values():
            assert report_tables(run, dataset) == tables
            for table in tables:
                for name in NAMES:
                    expected = table_rows(run, "livechat_reports", table, f"{name}-id")
                    got = table_rows(run, dataset, table, f"{name}-id")
                    assert got == expected, f"{table} of {name} from {dataset}"
                    compared += len(expected)
        assert compared > 200
        first_days = dict(
            run(
                "select account_id, min(report_date) from from_jsonl.chats_total_chats"
                " group by account_id"
            )
        )
        assert first_days["initech-id"] == TODAY - dt.timedelta(days=6)  # its own start_date
        assert first_days["acme-id"] == START
        # globex's row puts it in shard 0 beside acme; initech's name hashes to shard 1.
        for dataset in datasets.values():
            staged = run(f"select distinct account_id from {dataset}_staging_shard_0.chats_tags")
            assert sorted(r[0] for r in staged) == ["acme-id", "globex-id"]
        # The file's accounts are the configured ones each load records (on one of its rows).
        configured = run(
            "select distinct configured_accounts from from_csv.account_loads"
            " where configured_accounts is not null"
        )
        assert [json.loads(c[0]) for c in configured] == [[f"{n}-id" for n in NAMES]]


def test_check_selects_among_the_files_accounts_and_the_sections(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emulator, _ = accounts
    base(emulator, monkeypatch)
    as_file(monkeypatch, "accounts.csv", rows()[:2])
    monkeypatch.setenv(f"{ENV}INITECH__ACCOUNT_ID", "initech-id")  # a section beside the file
    assert main(["check", "--accounts", "globex,initech"]) == 0
    assert set(emulator.stats.requests_by_account) == {"globex-id", "initech-id"}
    emulator.stats.reset()
    assert main(["check"]) == 0
    assert set(emulator.stats.requests_by_account) == {f"{n}-id" for n in NAMES}
    out, err = capsys.readouterr()
    assert "Connection OK: account acme (account_id acme-id)" in out
    assert all(token(n) not in out + err for n in NAMES)


def bad(rows: list[dict[str, Any]], index: int, **change: Any) -> list[dict[str, Any]]:
    return [{**row, **change} if i == index else row for i, row in enumerate(rows)]


@pytest.mark.parametrize(
    ("listed", "env", "argv", "words"),
    [
        pytest.param(
            bad(rows(), 0, personal_access_token=token("acme")),
            {},
            [],
            "accounts.csv:1: tokens must not be in the accounts file (column"
            " `personal_access_token`; no value of it was used or shown). Put each account's token"
            " where dlt reads secrets, under the account's name:"
            " SOURCES__LIVECHAT__ACCOUNTS__<NAME>__PERSONAL_ACCESS_TOKEN",
            id="token column",
        ),
        pytest.param(
            rows(),
            {"GLOBEX__PERSONAL_ACCESS_TOKEN": None},
            [],
            "Account `globex` (accounts.csv:3) has no token: set"
            " SOURCES__LIVECHAT__ACCOUNTS__GLOBEX__PERSONAL_ACCESS_TOKEN",
            id="missing token",
        ),
        pytest.param(
            bad(rows(), 1, colour="red"),
            {},
            [],
            "accounts.csv:1: unknown column `colour`; a row may give name, account_id,",
            id="unknown column",
        ),
        pytest.param(
            bad(rows(), 1, shard="one"),
            {},
            [],
            "accounts.csv:3: `shard` `one` of account `globex` must be a whole number of 0 or more",
            id="bad shard",
        ),
        pytest.param(
            bad(rows(), 1, shard=2),
            {},
            [],
            "Account `globex` asks for shard 2, but there are 2 shards (0..1)",
            id="shard out of range",
        ),
        pytest.param(
            bad(rows(), 2, name="acme"),
            {},
            [],
            "accounts.csv:4: `acme` is listed on accounts.csv:2 too; keep one row",
            id="duplicate name",
        ),
        pytest.param(
            bad(rows(), 2, account_id="acme-id"),
            {},
            [],
            "accounts.csv:4: account_id `acme-id` of `initech` is also `acme`'s (accounts.csv:2)",
            id="duplicate account_id in the file",
        ),
        pytest.param(
            rows(),
            {"UMBRELLA__ACCOUNT_ID": "acme-id", "UMBRELLA__PERSONAL_ACCESS_TOKEN": "pat-u"},
            [],
            "Accounts `acme` (accounts.csv:2) and `umbrella` (section"
            " [sources.livechat.accounts.umbrella]) both name account_id `acme-id`",
            id="duplicate account_id across file and sections",
        ),
        pytest.param(
            rows(),
            {"ACME__ACCOUNT_ID": "acme-id"},
            [],
            "Account `acme` is in the accounts file (accounts.csv:2) and has a section of its own",
            id="name in both",
        ),
        pytest.param(
            bad(rows(), 2, start_date="2026-02-30"),
            {},
            [],
            "accounts.csv:4: `start_date` `2026-02-30` of account `initech` is not a date; write"
            " it as YYYY-MM-DD",
            id="bad date",
        ),
        pytest.param(
            rows(),
            {},
            ["--accounts", "acme,umbrella"],
            "No account `umbrella` in accounts file `accounts.csv` or a section",
            id="unknown --accounts",
        ),
        pytest.param(
            None,
            {},
            [],
            "Accounts file `accounts.csv` does not exist (looked for",
            id="missing file",
        ),
    ],
)
def test_a_bad_accounts_file_exits_2_before_any_request(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    listed: list[dict[str, Any]] | None,
    env: dict[str, str | None],
    argv: list[str],
    words: str,
) -> None:
    emulator, _ = accounts
    base(emulator, monkeypatch)
    as_file(monkeypatch, "accounts.csv", listed or [])
    if listed is None:
        Path("accounts.csv").unlink()
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(ENV + key)
        else:
            monkeypatch.setenv(ENV + key, value)
    assert main(["load", "--no-transform", *argv]) == 2
    out, err = capsys.readouterr()
    assert words in err
    assert "Traceback" not in err
    assert all(token(n) not in out + err + caplog.text for n in NAMES)
    assert emulator.stats.total() == 0


def test_dagster_partitions_are_the_files_accounts_too(
    accounts: tuple[Emulator, Accounts],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A shard partition's load takes the file's accounts of that shard, sections beside them."""
    dagster = pytest.importorskip("dagster", reason="the `dagster` extra is not installed")
    from dagster_dlt import DagsterDltResource

    from pipelines.orchestration.loads import report_assets
    from pipelines.orchestration.partitions import shard_partitions
    from pipelines.orchestration.warehouse import LiveChatWarehouse

    emulator, _ = accounts
    base(emulator, monkeypatch)
    as_file(monkeypatch, "accounts.csv", rows()[:2])
    monkeypatch.setenv(f"{ENV}INITECH__ACCOUNT_ID", "initech-id")  # a section beside the file
    partitions = shard_partitions(2)
    # acme's name and globex's row put both in shard 0; initech's name hashes to shard 1.
    for key, loaded in (("shard_0", {"acme-id", "globex-id"}), ("shard_1", {"initech-id"})):
        emulator.stats.reset()
        result = dagster.materialize(
            [report_assets(partitions)],
            partition_key=key,
            resources={"dlt": DagsterDltResource(), "warehouse": LiveChatWarehouse()},
            instance=dagster.DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
        assert result.success, key
        assert set(emulator.stats.requests_by_account) == loaded, key
