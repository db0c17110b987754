"""Faults: a backfill under a steady mix of API failures ends exactly as a clean one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from sources.livechat.client import LiveChatClient
from sources.livechat.exceptions import LiveChatAPIError
from sources.livechat_emulator import Switches
from tests.e2e.conftest import Loader, at
from tests.e2e.test_incremental import snapshot

TODAY = dt.date(2026, 11, 18)
FIRST, LAST = dt.date(2026, 10, 1), dt.date(2026, 10, 14)
MIX = {
    "429": 0.05,
    "500": 0.05,
    "503": 0.05,
    "drop": 0.04,
    "slow": 0.03,
    "truncated": 0.04,
    "malformed": 0.03,
}


def without_lineage(tables: dict[str, Any]) -> dict[str, Any]:
    return {
        name: rows
        for name, rows in tables.items()
        if name not in ("report_requests", "account_loads")  # what each load did, and when
    }


@pytest.mark.parametrize("fault_seed", [1, 2])
def test_a_backfill_under_a_mix_of_faults_equals_a_clean_one(
    make_emulator: Any, tmp_path: Path, fault_seed: int
) -> None:
    clean_api = make_emulator(now=at(TODAY))
    clean = Loader(clean_api, tmp_path / "clean.duckdb", pipeline_name="clean")
    clean.run(TODAY, start_date=FIRST, end_date=LAST, backfill=True)

    # 29 % of answers fail, plus a rate limit that answers 429 with Retry-After
    switches = Switches(
        faults=MIX, fault_seed=fault_seed, slow_seconds=1.0, rate_limit=200, retry_after=True
    )
    faulty_api = make_emulator(now=at(TODAY), switches=switches)
    faulty = Loader(faulty_api, tmp_path / "faulty.duckdb", pipeline_name="faulty")
    summary = faulty.run(
        TODAY, start_date=FIRST, end_date=LAST, backfill=True, request_timeout=0.5, max_attempts=8
    )

    stats = faulty_api.stats
    injected = sum(stats.faults.values()) + stats.statuses[429] - stats.faults["429"]
    assert sum(stats.faults.values()) > 30
    assert set(stats.faults) == set(MIX)
    assert summary.requests == stats.total()
    assert summary.retried == injected == summary.requests - clean_api.stats.total()
    assert without_lineage(snapshot(faulty)) == without_lineage(snapshot(clean))
    attempts = faulty.query("select sum(attempts) as a, count(*) as n from lr.report_requests")[0]
    assert (attempts["a"], attempts["n"]) == (summary.requests, clean_api.stats.total())


def client_for(emulator: Any, **options: Any) -> LiveChatClient:
    return LiveChatClient(
        base_url=emulator.url,
        api_version="3.6",
        authorization=options.pop("authorization", "Basic ZGVtbzpkZW1vLXBhdA=="),
        backoff_seconds=0.0,
        **options,
    )


BODY = {
    "timezone": "UTC",
    "filters": {"from": "2026-10-01T00:00:00+00:00", "to": "2026-10-01T23:59:59+00:00"},
}


def test_retry_after_is_honoured(make_emulator: Any) -> None:
    emulator = make_emulator(now=at(TODAY), switches=Switches(rate_limit=1, retry_after=True))
    waits: list[float] = []
    client = client_for(emulator, sleep=waits.append, max_attempts=5)
    client.post("chats/total_chats", BODY, "2026-10-01")
    with pytest.raises(LiveChatAPIError) as error:
        client.post(
            "chats/total_chats", BODY, "2026-10-01"
        )  # same second: 429 until attempts run out
    assert waits == [1.0] * 4  # the header's 1 s, not the (zero) backoff
    assert "failed after 5 attempts: HTTP 429 too_many_requests" in str(error.value)


def test_backoff_doubles_without_retry_after(make_emulator: Any) -> None:
    emulator = make_emulator(now=at(TODAY), switches=Switches(faults={"503": 1.0}))
    waits: list[float] = []
    client = LiveChatClient(
        base_url=emulator.url,
        api_version="3.6",
        authorization="Basic x",
        backoff_seconds=0.5,
        max_attempts=4,
        max_retry_delay=1.5,
        sleep=waits.append,
    )
    with pytest.raises(LiveChatAPIError, match="HTTP 503 service_unavailable: Injected fault"):
        client.post("chats/total_chats", BODY, "2026-10-01")
    assert waits == [0.5, 1.0, 1.5]


@pytest.mark.parametrize(
    ("options", "body", "status", "kind"),
    [
        ({"authorization": "Basic bm9wZTpub3Bl"}, BODY, 401, "authentication"),
        ({"authorization": "Bearer unscoped"}, BODY, 403, "authorization"),
        ({}, {**BODY, "distribution": "fortnight"}, 422, "validation"),
    ],
)
def test_client_errors_are_not_retried(
    make_emulator: Any, options: dict[str, Any], body: dict[str, Any], status: int, kind: str
) -> None:
    emulator = make_emulator(now=at(TODAY), unscoped_token="unscoped")
    client = client_for(emulator, **options)
    with pytest.raises(LiveChatAPIError) as error:
        client.post("chats/total_chats", body, "2026-10-01")
    assert (error.value.status, error.value.error_type, error.value.attempts) == (status, kind, 1)
    assert emulator.stats.total() == 1
    assert f"chats/total_chats for 2026-10-01 failed: HTTP {status} {kind}: " in str(error.value)


@pytest.mark.parametrize("fault", ["malformed", "truncated", "drop"])
def test_garbled_answers_are_retried_then_reported(make_emulator: Any, fault: str) -> None:
    emulator = make_emulator(now=at(TODAY), switches=Switches(faults={fault: 1.0}))
    client = client_for(emulator, max_attempts=3)
    with pytest.raises(LiveChatAPIError) as error:
        client.post("chats/total_chats", BODY, "2026-10-01")
    assert error.value.attempts == 3 and emulator.stats.total() == 3
    expected = {
        "malformed": "not valid JSON",
        "truncated": "not valid JSON",
        "drop": "connection failed",
    }[fault]
    assert expected in str(error.value)
