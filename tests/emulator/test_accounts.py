"""Several accounts on one emulator: routing by credentials, own data, revocation, counters."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sources.livechat_emulator import Accounts, Emulator, ReportsAPI
from sources.livechat_emulator.accounts import parse_accounts
from tests.conftest import NOW, window

BODY = {"filters": window("2026-10-01", "2026-10-07")}
REPORTS = ("chats/total_chats", "chats/tags", "agents/performance", "customers/unique_visitors")


def acme(**options: Any) -> ReportsAPI:
    defaults = {"seed": 1, "personal_access_token": "tokenA", "bearer_token": "bearerA"}
    return ReportsAPI(now=NOW.timestamp(), account_id="acme", **{**defaults, **options})


def globex(**options: Any) -> ReportsAPI:
    defaults = {"seed": 2, "personal_access_token": "tokenB", "bearer_token": "bearerB"}
    return ReportsAPI(
        now=NOW.timestamp(),
        account_id="globex",
        timezone="Europe/Warsaw",
        **{**defaults, **options},
    )


@pytest.fixture
def two() -> Iterator[Emulator]:
    with Emulator(Accounts(acme(), globex())) as emu:
        yield emu


def post(emu: Emulator, report: str, auth: Any = None, **kwargs: Any) -> requests.Response:
    return requests.post(
        f"{emu.url}/v3.6/reports/{report}", json=BODY, auth=auth, timeout=30, **kwargs
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("report", REPORTS)
def test_each_account_answers_like_a_single_account_emulator_with_its_seed(
    two: Emulator, report: str
) -> None:
    got_a = post(two, report, ("acme", "tokenA"))
    got_b = post(two, report, ("globex", "tokenB"))
    assert got_a.status_code == got_b.status_code == 200
    assert got_a.json() != got_b.json()
    with Emulator(acme()) as alone_a, Emulator(globex()) as alone_b:
        assert got_a.content == post(alone_a, report, ("acme", "tokenA")).content
        assert got_b.content == post(alone_b, report, ("globex", "tokenB")).content
    # Bearer tokens pick the same account as its Basic token.
    assert post(two, report, headers=bearer("bearerB")).content == got_b.content


def test_each_account_has_its_own_license_timezone(two: Emulator) -> None:
    body = {"filters": {}}
    a = requests.post(
        f"{two.url}/v3.6/reports/chats/total_chats", json=body, auth=("acme", "tokenA"), timeout=30
    ).json()
    b = requests.post(
        f"{two.url}/v3.6/reports/chats/total_chats",
        json=body,
        auth=("globex", "tokenB"),
        timeout=30,
    ).json()
    assert a["request"]["timezone"] == "UTC"
    assert b["request"]["timezone"] == "Europe/Warsaw"


@pytest.mark.parametrize(
    ("auth", "headers"),
    [
        (("acme", "tokenB"), {}),  # the other account's token
        (("globex", "tokenA"), {}),
        (("initech", "tokenA"), {}),  # no such account
        (("acme", ""), {}),
        (None, {}),
        (None, bearer("tokenA")),  # a personal access token is not a Bearer token
        (None, bearer("nope")),
        (None, {"Authorization": "Basic " + base64.b64encode(b"acme").decode()}),
    ],
)
def test_wrong_or_other_accounts_credentials_get_401(
    two: Emulator, auth: Any, headers: dict[str, str]
) -> None:
    answer = post(two, "chats/total_chats", auth, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "authentication"


def test_a_bad_path_is_404_whoever_asks(two: Emulator) -> None:
    for auth in (("acme", "tokenA"), ("nobody", "x")):
        answer = requests.get(f"{two.url}/v3.5/reports/chats/total_chats", auth=auth, timeout=30)
        assert answer.status_code == 404


def test_revoking_one_account_fails_only_that_account_mid_way(two: Emulator) -> None:
    assert post(two, "chats/total_chats", ("acme", "tokenA")).status_code == 200
    assert isinstance(two.api, Accounts)
    two.api.revoke("acme")
    for _ in range(2):
        refused = post(two, "chats/total_chats", ("acme", "tokenA"))
        assert refused.status_code == 401
        assert refused.json() == {
            "error": {"type": "authentication", "message": "Invalid access token"}
        }
    assert post(two, "chats/total_chats", headers=bearer("bearerA")).status_code == 401
    assert post(two, "chats/total_chats", ("globex", "tokenB")).status_code == 200
    assert post(two, "chats/total_chats", headers=bearer("bearerB")).status_code == 200
    two.api.restore("acme")
    assert post(two, "chats/total_chats", ("acme", "tokenA")).status_code == 200


def test_a_single_account_can_be_revoked_too() -> None:
    with Emulator(ReportsAPI(now=NOW.timestamp())) as emu:
        assert post(emu, "chats/total_chats", ("demo", "demo-pat")).status_code == 200
        assert isinstance(emu.api, ReportsAPI)
        emu.api.revoke()
        assert post(emu, "chats/total_chats", ("demo", "demo-pat")).status_code == 401
        assert emu.stats.requests_by_account == {"demo": 2}
        assert emu.stats.statuses_by_account["demo"] == {200: 1, 401: 1}


def test_requests_are_counted_per_account(two: Emulator) -> None:
    for _ in range(3):
        post(two, "chats/total_chats", ("acme", "tokenA"))
    post(two, "chats/tags", headers=bearer("bearerB"))
    post(two, "chats/tags", ("globex", "wrong"))  # names globex, fails
    post(two, "chats/tags", ("initech", "x"))  # names no account
    assert two.stats.requests_by_account == {"acme": 3, "globex": 2}
    assert two.stats.statuses_by_account == {"acme": {200: 3}, "globex": {200: 1, 401: 1}}
    assert two.stats.statuses_by_report == {
        "chats/total_chats": {200: 3},
        "chats/tags": {200: 1, 401: 2},
    }
    assert two.stats.total() == 6
    two.stats.reset()
    assert two.stats.requests_by_account == {}
    assert two.stats.statuses_by_account == {}


def test_the_clock_of_all_accounts_moves_together(two: Emulator) -> None:
    assert isinstance(two.api, Accounts)
    two.api.now = NOW.timestamp() - 86_400
    assert [a.now for a in two.api] == [NOW.timestamp() - 86_400] * 2
    assert two.api.now == NOW.timestamp() - 86_400


def test_accounts_refuse_clashing_ids_and_shared_bearer_tokens() -> None:
    with pytest.raises(ValueError, match="two accounts have the id `acme`"):
        Accounts(acme(), acme(seed=3, bearer_token=None))
    with pytest.raises(ValueError, match="share a Bearer token"):
        Accounts(acme(), ReportsAPI(account_id="globex", bearer_token="bearerA"))
    with pytest.raises(ValueError, match="at least one"):
        Accounts()
    with pytest.raises(KeyError, match="no account `initech`; accounts: acme, globex"):
        Accounts(acme(), globex()).revoke("initech")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("acme:tokenA", "must be ID:TOKEN:SEED[:TIMEZONE]"),
        ("acme:tokenA:1:UTC:extra", "must be ID:TOKEN:SEED[:TIMEZONE]"),
        ("acme::1", "must be ID:TOKEN:SEED[:TIMEZONE]"),
        ("acme:tokenA:one", "the seed must be an integer; got `one`"),
        ("acme:tokenA:1:Mars/Olympus", "`Mars/Olympus` is not an IANA time zone"),
        ("acme:a:1,acme:b:2", "repeated: acme"),
        (",", "at least one"),
    ],
)
def test_account_syntax_errors_say_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
        parse_accounts(text)


def test_command_line_serves_several_accounts() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sources.livechat_emulator",
            "--port",
            "0",
            "--now",
            "2026-11-18T15:30:00+00:00",
            "--accounts",
            "acme:tokenA:1,globex:tokenB:2:Europe/Warsaw",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "account acme seed 1, account globex seed 2" in line
        url = line.split(" on ", 1)[1].split("/v3.6")[0]
        with Emulator(acme()) as alone_a, Emulator(globex()) as alone_b:
            for auth, alone in ((("acme", "tokenA"), alone_a), (("globex", "tokenB"), alone_b)):
                served = requests.post(
                    url + "/v3.6/reports/chats/total_chats", json=BODY, auth=auth, timeout=10
                )
                assert served.status_code == 200
                assert served.content == post(alone, "chats/total_chats", auth).content
        other = requests.post(
            url + "/v3.6/reports/chats/total_chats", json=BODY, auth=("acme", "tokenB"), timeout=10
        )
        assert other.status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["--accounts", "acme:tokenA:1", "--seed", "3"], "leave out --seed"),
        (["--accounts", "acme:tokenA:1", "--account-id", "x"], "leave out --account-id"),
        (["--accounts", "acme:tokenA"], "must be ID:TOKEN:SEED"),
    ],
)
def test_command_line_refuses_bad_account_options_with_exit_2(
    arguments: list[str], words: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sources.livechat_emulator", "--port", "0", *arguments],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert words in done.stderr
    assert done.stdout == ""
