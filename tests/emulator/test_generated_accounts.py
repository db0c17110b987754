"""Generated accounts: built on first request, answering like listed accounts, on loopback."""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sources.livechat_emulator import Emulator, GeneratedAccounts, generated_account
from sources.livechat_emulator.accounts import AccountSpec, build_accounts
from sources.livechat_emulator.cli import add_arguments, serve
from sources.livechat_emulator.generated import generated_index
from tests.conftest import NOW, window

BODY = {"filters": window("2026-10-01", "2026-10-03")}
REPORTS = ("chats/total_chats", "chats/tags", "agents/performance", "chats/duration")
COUNT = 2000


@pytest.fixture(scope="module")
def many() -> Iterator[Emulator]:
    with Emulator(GeneratedAccounts(COUNT, now=NOW.timestamp())) as emu:
        yield emu


def post(emu: Emulator, auth: Any, report: str = "chats/total_chats") -> requests.Response:
    return requests.post(f"{emu.url}/v3.6/reports/{report}", json=BODY, auth=auth, timeout=30)


def basic(spec: AccountSpec) -> tuple[str, str]:
    return spec.account_id, spec.personal_access_token


def test_the_rule_is_a_pure_function_of_index_and_prefix() -> None:
    assert generated_account(0) == AccountSpec("acct0", "token-acct0", 0, "UTC")
    assert generated_account(1999, "b-") == AccountSpec("b-1999", "token-b-1999", 1999, "UTC")
    assert generated_index("acct1999") == 1999
    for other in ("acct01", "acct+1", "acct", "acc1", "acct1x", "acct١"):
        assert generated_index(other) is None
    with pytest.raises(ValueError, match="start at 0"):
        generated_account(-1)
    with pytest.raises(ValueError, match="prefix"):
        generated_account(1, "a:b")


@pytest.mark.parametrize("index", [0, 7, COUNT - 1])
def test_a_generated_account_answers_like_the_same_account_listed(
    many: Emulator, index: int
) -> None:
    spec = generated_account(index)
    listed = build_accounts([spec, generated_account(index + 1)], now=NOW.timestamp())
    with Emulator(listed) as alone:
        for report in REPORTS:
            got = post(many, basic(spec), report)
            assert got.status_code == 200
            assert got.content == post(alone, basic(spec), report).content
    assert post(many, basic(generated_account(index + 1))).content != got.content


@pytest.mark.parametrize(
    "auth",
    [
        ("acct7", "token-acct8"),  # another account's token
        ("acct7", "wrong"),
        ("acct2000", "token-acct2000"),  # account N: out of range
        ("acct007", "token-acct007"),  # not the canonical id
        ("initech", "token-initech"),
    ],
)
def test_unknown_or_out_of_range_credentials_get_401(many: Emulator, auth: Any) -> None:
    answer = post(many, auth)
    assert answer.status_code == 401
    assert answer.json()["error"] == {"type": "authentication", "message": "Invalid access token"}


def test_a_bearer_token_names_no_generated_account(many: Emulator) -> None:
    answer = requests.post(
        f"{many.url}/v3.6/reports/chats/total_chats",
        json=BODY,
        headers={"Authorization": "Bearer token-acct1"},
        timeout=30,
    )
    assert answer.status_code == 401


def test_revoking_one_generated_account_fails_only_that_one() -> None:
    api = GeneratedAccounts(50, "r", now=NOW.timestamp())
    with Emulator(api) as emu:
        api.revoke("r3")  # before its first request: built by the revocation
        assert post(emu, ("r3", "token-r3")).status_code == 401
        assert post(emu, ("r4", "token-r4")).status_code == 200
        api.restore("r3")
        assert post(emu, ("r3", "token-r3")).status_code == 200
        assert emu.stats.statuses_by_account == {"r3": {401: 1, 200: 1}, "r4": {200: 1}}
    with pytest.raises(KeyError, match=r"no account `r50`; accounts: r0..r49 \(50 accounts\)"):
        api.revoke("r50")


def test_accounts_are_built_once_on_first_use_and_share_the_clock() -> None:
    api = GeneratedAccounts(COUNT, now=NOW.timestamp())
    assert list(api) == []
    api.now = NOW.timestamp() - 86_400
    built: list[Any] = []
    threads = [threading.Thread(target=lambda: built.append(api["acct5"])) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(b is built[0] for b in built)
    assert [(a.account_id, a.seed, a.now) for a in api] == [("acct5", 5, NOW.timestamp() - 86_400)]
    api.now = None
    assert api["acct5"].now is None and api["acct6"].now is None


def test_the_router_refuses_an_empty_range_or_a_bad_prefix() -> None:
    with pytest.raises(ValueError, match="at least 1; got 0"):
        GeneratedAccounts(0)
    with pytest.raises(ValueError, match="prefix"):
        GeneratedAccounts(3, "")


def parse(*arguments: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="emulator")
    add_arguments(parser)
    return parser.parse_args(["--port", "0", *arguments])


def test_command_line_parses_accounts_count_and_prefix() -> None:
    args = parse("--accounts-count", "2000", "--accounts-prefix", "b-", "--latency-ms", "5")
    assert (args.accounts_count, args.accounts_prefix, args.latency_ms) == (2000, "b-", 5.0)
    assert parse("--accounts-count", "3").accounts_prefix is None


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["--accounts-count", "0"], "--accounts-count: must be a whole number of accounts, 1 or"),
        (["--accounts-count", "-2"], "1 or more; got -2"),
        (["--accounts-count", "2", "--accounts", "a:b:1"], "not allowed with argument"),
        (["--accounts-count", "2", "--accounts-prefix", "a b"], "without `:`, `,` or spaces"),
    ],
)
def test_command_line_refuses_bad_counts_with_argparse_exit_2(
    arguments: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        parse(*arguments)
    assert exit.value.code == 2
    assert words in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["--accounts-count", "2", "--seed", "3"], "--accounts-count sets each account's id"),
        (["--accounts-prefix", "b"], "--accounts-prefix names generated accounts; add"),
    ],
)
def test_command_line_refuses_options_that_do_not_go_together_with_exit_2(
    arguments: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert serve(parse(*arguments)) == 2
    out = capsys.readouterr()
    assert words in out.err
    assert out.out == ""


def test_command_line_serves_generated_accounts_with_latency() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sources.livechat_emulator",
            "--port",
            "0",
            "--now",
            "2026-11-18T15:30:00+00:00",
            "--accounts-count",
            str(COUNT),
            "--latency-ms",
            "20",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "generated accounts acct0..acct1999 (2000 accounts)" in line
        url = line.split(" on ", 1)[1].split("/v3.6")[0]
        spec = generated_account(1999)
        with Emulator(build_accounts([spec], now=NOW.timestamp())) as alone:
            served = requests.post(
                url + "/v3.6/reports/chats/total_chats", json=BODY, auth=basic(spec), timeout=10
            )
            assert served.status_code == 200
            assert served.elapsed.total_seconds() >= 0.02
            assert served.content == post(alone, basic(spec)).content
        outside = generated_account(COUNT)
        refused = requests.post(
            url + "/v3.6/reports/chats/total_chats", json=BODY, auth=basic(outside), timeout=10
        )
        assert refused.status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)
