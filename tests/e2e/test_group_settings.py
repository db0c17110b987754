"""Group settings that would do nothing, or invent a team: refused, or stored as nothing.

`--breakdown-groups` and `--breakdown-reports` only say what the group breakdown loads; without
it they are refused before any request. A listed group that the account's chats never name is
still asked for (the API answers), but its empty days store no row, so no per-group mart shows
a team with 0 chats; the load's summary and `check` name it.
"""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.cli import main
from tests.e2e.test_groups import TODAY, bounds, cli_emulator  # noqa: F401 (a fixture)

FIRST, LAST = "2026-02-02", "2026-02-08"


def _load(*argv: str) -> int:
    return main(["load", "--start-date", FIRST, "--end-date", LAST, "--no-transform", *argv])


@pytest.mark.parametrize(
    ("argv", "env", "words"),
    [
        (("--breakdown-groups", "0,9"), {}, "`breakdown_groups` (--breakdown-groups) = `0,9`"),
        (
            ("--breakdown-reports", "chats_total_chats"),
            {},
            "`breakdown_reports` (--breakdown-reports) = `chats_total_chats`",
        ),
        ((), {"SOURCES__LIVECHAT__BREAKDOWN_GROUPS": "[0, 9]"}, "`breakdown_groups`"),
        ((), {"SOURCES__LIVECHAT__BREAKDOWN_REPORTS": "chats_ratings"}, "`breakdown_reports`"),
    ],
)
def test_breakdown_settings_without_the_breakdown_exit_2_before_any_request(
    cli_emulator: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    env: dict[str, str],
    words: str,
) -> None:
    """Before: ignored, exit 0, and nothing loaded per group."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _load("--reports", "chats_total_chats", *argv) == 2
    err = capsys.readouterr().err
    assert words in err, err
    assert "does nothing without the group breakdown: add --breakdown group" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert cli_emulator.stats.total() == 0
    if env:  # `check` reads the same configuration and refuses it too, before its request
        assert main(["check"]) == 2
        assert "does nothing without the group breakdown" in capsys.readouterr().err
        assert cli_emulator.stats.total() == 0


def test_an_account_section_with_breakdown_groups_and_no_breakdown_exits_2(
    cli_emulator: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prefix = "SOURCES__LIVECHAT__ACCOUNTS__ACME__"
    monkeypatch.setenv(prefix + "ACCOUNT_ID", "demo")
    monkeypatch.setenv(prefix + "PERSONAL_ACCESS_TOKEN", "demo-pat")
    monkeypatch.setenv(prefix + "BREAKDOWN_GROUPS", "[1]")
    assert _load("--reports", "chats_total_chats") == 2
    err = capsys.readouterr().err
    assert "acme" in err and "`breakdown_groups`" in err and "--breakdown group" in err, err
    assert cli_emulator.stats.total() == 0
