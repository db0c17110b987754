"""The accounts file: what a row gives, and every way a file is refused before any request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.accounts_file import AccountsFileError, FileAccount, read_accounts_file

SECRET = "pat-do-not-show-4b1d"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def refusal(name: str, text: str) -> str:
    Path(name).write_text(text, encoding="utf-8")
    with pytest.raises(AccountsFileError) as caught:
        read_accounts_file(name)
    message = str(caught.value)
    assert message.endswith("Nothing was requested.")
    return message


def test_a_csv_gives_each_account_its_settings() -> None:
    Path("accounts.csv").write_text(
        "\ufeffName, Account_ID ,timezone,start_date,shard,filters,breakdowns,breakdown_groups\n"
        "acme,acme-id,,,,,,\n"
        "\n"
        'globex, globex-id ,Europe/Warsaw,2025-01-01,3,"{""agents"": {""values"": [""a@b.c""]}}",'
        'group,"1,4"\n'
        "initech,initech-id\n",  # trailing settings left out
        encoding="utf-8",
    )
    read = read_accounts_file("accounts.csv")
    assert read.path == "accounts.csv"
    assert list(read.accounts.values()) == [
        FileAccount("acme", "acme-id", {}, None, "accounts.csv:2"),
        FileAccount(
            "globex",
            "globex-id",
            {
                "timezone": "Europe/Warsaw",
                "start_date": "2025-01-01",
                "filters": {"agents": {"values": ["a@b.c"]}},
                "breakdowns": "group",
                "breakdown_groups": "1,4",
            },
            3,
            "accounts.csv:4",
        ),
        FileAccount("initech", "initech-id", {}, None, "accounts.csv:5"),
    ]


def test_json_lines_take_native_values() -> None:
    lines = [
        {"name": "acme", "account_id": "acme-id", "shard": 0, "breakdown_groups": [1, 4]},
        {"name": "globex", "account_id": 1234, "start_date": "2025-01-01", "timezone": None},
    ]
    Path("accounts.jsonl").write_text(
        "\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8"
    )
    read = read_accounts_file("accounts.jsonl")
    assert read.accounts["acme"] == FileAccount(
        "acme", "acme-id", {"breakdown_groups": "[1,4]"}, 0, "accounts.jsonl:1"
    )
    assert read.accounts["globex"] == FileAccount(
        "globex", "1234", {"start_date": "2025-01-01"}, None, "accounts.jsonl:2"
    )


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("accounts.csv", f"name,account_id,personal_access_token\nacme,acme-id,{SECRET}\n"),
        ("accounts.csv", f"name,account_id,API_KEY\nacme,acme-id,{SECRET}\n"),
        (
            "accounts.jsonl",
            '{"name": "acme", "account_id": "a"}\n'
            f'{{"name": "globex", "account_id": "g", "access_token": "{SECRET}"}}\n',
        ),
    ],
)
def test_a_token_in_the_file_is_refused_and_never_shown(name: str, text: str) -> None:
    message = refusal(name, text)
    assert "tokens must not be in the accounts file" in message
    assert "SOURCES__LIVECHAT__ACCOUNTS__<NAME>__PERSONAL_ACCESS_TOKEN" in message
    assert SECRET not in message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "name,account_id,colour\n",
            "accounts.csv:1: unknown column `colour`; a row may give name,",
        ),
        ("name,timezone\n", "accounts.csv:1: no `account_id` column"),
        ("name,account_id,name\n", "column `name` appears more than once"),
        ("name,account_id\n", "lists no account"),
        ("", "lists no account"),
        ("name,account_id\nAcme Corp,a\n", "accounts.csv:2: `name` `Acme Corp` must be lowercase"),
        ("name,account_id\n,a\n", "accounts.csv:2: no `name`"),
        ("name,account_id\nacme,\n", "accounts.csv:2: account `acme` has no account_id"),
        (
            "name,account_id,shard\nacme,a,two\n",
            "accounts.csv:2: `shard` `two` of account `acme` must be a whole number of 0 or more",
        ),
        ("name,account_id,shard\nacme,a,-1\n", "`shard` `-1` of account `acme`"),
        (
            "name,account_id,start_date\nacme,a,2025-02-30\n",
            "accounts.csv:2: `start_date` `2025-02-30` of account `acme` is not a date; write it"
            " as YYYY-MM-DD",
        ),
        (
            "name,account_id,timezone\nacme,a,Mars/Olympus\n",
            "`timezone` `Mars/Olympus` of account `acme` is not an IANA timezone",
        ),
        ("name,account_id,filters\nacme,a,agents\n", "`filters` `agents` of account `acme`"),
        (
            "name,account_id\nacme,a\nglobex,g\nacme,b\n",
            "accounts.csv:4: `acme` is listed on accounts.csv:2 too",
        ),
        (
            "name,account_id\nacme,a\nglobex,a\n",
            "accounts.csv:3: account_id `a` of `globex` is also `acme`'s (accounts.csv:2)",
        ),
        (
            f"name,account_id\nacme,a,{SECRET}\n",
            "accounts.csv:2: 3 values, but the header names 2 columns",
        ),
    ],
)
def test_a_bad_csv_is_refused_with_its_line(text: str, words: str) -> None:
    message = refusal("accounts.csv", text)
    assert words in message
    assert SECRET not in message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (f"not json {SECRET}\n", "accounts.jsonl:1: not valid JSON (Expecting value, column 1)"),
        ('["acme", "a"]\n', "accounts.jsonl:1: not a JSON object"),
        ('\n{"name": "acme", "account_id": "a", "zone": 1}\n', "accounts.jsonl:2: unknown column"),
        ('{"name": "acme", "account_id": true}\n', "`true` is not text"),
        ('{"name": "acme", "account_id": "a", "shard": true}\n', "`shard` `true` of account"),
    ],
)
def test_bad_json_lines_are_refused_with_their_line(text: str, words: str) -> None:
    message = refusal("accounts.jsonl", text)
    assert words in message
    assert SECRET not in message


def test_every_bad_row_is_counted_and_the_first_ten_shown() -> None:
    rows = "".join(f"acme_{i},a{i},x\n" for i in range(25))
    message = refusal("accounts.csv", "name,account_id,shard\n" + rows)
    assert message.startswith("Accounts file `accounts.csv` has 25 problems:\n")
    assert "accounts.csv:11: `shard` `x` of account `acme_9`" in message
    assert "accounts.csv:12:" not in message
    assert "... and 15 more" in message


def test_a_missing_file_says_where_it_was_looked_for(tmp_path: Path) -> None:
    with pytest.raises(AccountsFileError) as caught:
        read_accounts_file("lists/accounts.csv")
    message = str(caught.value)
    assert f"looked for {tmp_path.resolve() / 'lists' / 'accounts.csv'}" in message
    assert "relative to the working directory" in message
    assert "SOURCES__LIVECHAT__ACCOUNTS_FILE" in message


def test_only_csv_and_json_lines() -> None:
    message = refusal("accounts.json", '[{"name": "acme"}]')
    assert "must end in .csv or .jsonl" in message
