"""The emulator's HTTP behaviour: auth, validation, GET encoding, switches, CLI."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from sources.livechat_emulator import Emulator, ReportsAPI, Switches, parse_faults
from tests.conftest import NOW, SAMPLES, call, load_sample, window

URL = "/v3.6/reports/chats/total_chats"
GOOD = {"filters": window("2026-10-01", "2026-10-03")}


def error_of(answer: requests.Response) -> dict[str, Any]:
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}
    return body["error"]


@pytest.mark.parametrize(
    ("headers", "status", "kind"),
    [
        ({}, 401, "authentication"),
        (
            {"Authorization": "Basic " + base64.b64encode(b"demo:wrong").decode()},
            401,
            "authentication",
        ),
        ({"Authorization": "Basic not-base64!"}, 401, "authentication"),
        ({"Authorization": "Bearer nope"}, 401, "authentication"),
        ({"Authorization": "Bearer unscoped"}, 403, "authorization"),
    ],
)
def test_bad_credentials_are_refused(headers: dict[str, str], status: int, kind: str) -> None:
    with Emulator(ReportsAPI(now=NOW.timestamp(), unscoped_token="unscoped")) as emu:
        answer = requests.post(emu.url + URL, json=GOOD, headers=headers, timeout=10)
    assert answer.status_code == status
    assert error_of(answer)["type"] == kind


def test_basic_and_bearer_credentials_are_accepted(emulator: Emulator) -> None:
    basic = call(emulator, "chats/total_chats", GOOD)
    bearer = call(
        emulator,
        "chats/total_chats",
        GOOD,
        auth=None,
        headers={"Authorization": "Bearer demo-token"},
    )
    assert basic.status_code == bearer.status_code == 200
    assert basic.content == bearer.content


@pytest.mark.parametrize(
    ("report", "body", "words"),
    [
        ("chats/total_chats", {"distribution": "week"}, "distribution"),
        ("agents/availability", {"distribution": "month"}, "distribution"),
        ("chats/total_chats", {"timezone": "Mars/Olympus"}, "timezone"),
        (
            "chats/total_chats",
            {"filters": {"from": "yesterday", "to": "2026-10-01T00:00:00Z"}},
            "filters.from",
        ),
        ("chats/total_chats", {"filters": {"from": "2026-10-01T00:00:00"}}, "filters.from"),
        (
            "chats/total_chats",
            {"filters": {"from": "2026-10-02T00:00:00Z", "to": "2026-10-01T00:00:00Z"}},
            "after",
        ),
        ("chats/total_chats", {"filters": {"from": "2026-10-01T00:00:00Z"}}, "together"),
        (
            "chats/total_chats",
            {"filters": {"agents": {"values": ["a@b.c"], "exclude_values": ["d@e.f"]}}},
            "exactly one",
        ),
        ("chats/total_chats", {"filters": {"groups": {"values": ["zero"]}}}, "groups"),
        ("chats/total_chats", {"filters": {"tags": {"exists": "yes"}}}, "boolean"),
        ("chats/total_chats", {"filters": {"planets": {"values": ["x"]}}}, "not accepted"),
        ("agents/performance", {"filters": {"tags": {"values": ["spam"]}}}, "not accepted"),
        (
            "chats/greetings_conversion",
            {
                "filters": {
                    **window("2026-10-01", "2026-10-01"),
                    "greetings": window("2026-10-01", "2026-10-01"),
                }
            },
            "exactly one pair",
        ),
        ("chats/total_chats", {"page": 0}, "page"),
        ("chats/no_such_report", {}, "Unknown report"),
    ],
)
def test_invalid_requests_get_422_with_a_message(
    emulator: Emulator, report: str, body: dict[str, Any], words: str
) -> None:
    answer = call(emulator, report, body)
    assert answer.status_code == 422
    err = error_of(answer)
    assert err["type"] == "validation"
    assert words in err["message"]


def test_non_json_body_is_a_validation_error(emulator: Emulator) -> None:
    answer = requests.post(
        emulator.url + URL, data=b"{not json", auth=("demo", "demo-pat"), timeout=10
    )
    assert answer.status_code == 422
    assert "not valid JSON" in error_of(answer)["message"]


def test_no_filters_spans_the_last_seven_days(emulator: Emulator) -> None:
    got = call(emulator, "chats/total_chats", {}).json()
    assert list(got["records"]) == [f"2026-11-{d}" for d in range(12, 19)]


def test_filters_select_chats(emulator: Emulator) -> None:
    base = {"filters": window("2026-10-01", "2026-10-31")}
    total = call(emulator, "chats/total_chats", base).json()["total"]
    groups = [
        call(
            emulator,
            "chats/total_chats",
            {"filters": {**base["filters"], "groups": {"values": [g]}}},
        ).json()["total"]
        for g in (0, 1, 2)
    ]
    assert sum(groups) == total and all(groups)
    spam = call(
        emulator, "chats/tags", {"filters": {**base["filters"], "tags": {"values": ["spam"]}}}
    ).json()
    without = call(
        emulator,
        "chats/tags",
        {"filters": {**base["filters"], "tags": {"exclude_values": ["spam"]}}},
    ).json()
    assert spam["total"] + without["total"] == total
    assert all("spam" in day for day in spam["records"].values() if day)
    assert all("spam" not in day for day in without["records"].values())


def test_get_with_the_documented_query_string_equals_post(emulator: Emulator) -> None:
    query = (
        "distribution=day&timezone=Europe%2FWarsaw"
        "&filters.from=2026-10-01T00:00:00%2B02:00&filters.to=2026-10-03T23:59:59%2B02:00"
        "&filters.agents.values=anna.kowalska@example.com&filters.agents.values=ben.okafor@example.com"
        "&filters.tags.exclude_values=spam&filters.groups.values=0"
    )
    body = {
        "distribution": "day",
        "timezone": "Europe/Warsaw",
        "filters": {
            "from": "2026-10-01T00:00:00+02:00",
            "to": "2026-10-03T23:59:59+02:00",
            "agents": {"values": ["anna.kowalska@example.com", "ben.okafor@example.com"]},
            "tags": {"exclude_values": ["spam"]},
            "groups": {"values": [0]},
        },
    }
    got = requests.get(f"{emulator.url}{URL}?{query}", auth=("demo", "demo-pat"), timeout=10)
    posted = call(emulator, "chats/total_chats", body)
    assert got.status_code == 200, got.text
    assert got.json() == posted.json()
    assert posted.json()["total"] > 0


def test_the_published_query_string_sample_parses() -> None:
    from sources.livechat_emulator.query import parse_query_string

    text = (SAMPLES / "filters.query_string.txt").read_text().replace("\n", "").lstrip("?")
    parsed = parse_query_string(text)
    # The docs say the sample filters "translate into" this query string; only the dates differ.
    published = load_sample("filters")
    assert parsed["filters"]["properties"] == {"routing": {"continuous": {"values": [True]}}}
    assert {k: v for k, v in parsed["filters"].items() if k not in ("from", "to")} == {
        k: v for k, v in published.items() if k not in ("from", "to")
    }


def test_queued_visitors_left_pages(emulator: Emulator) -> None:
    body = {"filters": window("2026-10-01", "2026-10-14")}
    first = call(emulator, "chats/queued_visitors_left", body).json()
    pages = first["summary"]["total_pages"]
    assert pages > 1 and len(first["records"]) == 5
    seen = dict(first["records"])
    for page in range(2, pages + 1):
        seen.update(
            call(emulator, "chats/queued_visitors_left", {**body, "page": page}).json()["records"]
        )
    assert len(seen) == first["total"]
    beyond = call(emulator, "chats/queued_visitors_left", {**body, "page": pages + 1}).json()
    assert beyond["records"] == {}


@pytest.mark.parametrize("retry_after", [True, False])
def test_rate_limit_answers_429(retry_after: bool) -> None:
    with Emulator(
        ReportsAPI(now=NOW.timestamp()), Switches(rate_limit=3, retry_after=retry_after)
    ) as emu:
        answers = [call(emu, "chats/total_chats", GOOD) for _ in range(6)]
    codes = [a.status_code for a in answers]
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
    limited = next(a for a in answers if a.status_code == 429)
    assert error_of(limited)["type"] == "too_many_requests"
    assert ("Retry-After" in limited.headers) is retry_after


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ("500", lambda a: a.status_code == 500 and a.json()["error"]["type"] == "internal"),
        (
            "503",
            lambda a: a.status_code == 503 and a.json()["error"]["type"] == "service_unavailable",
        ),
        ("malformed", lambda a: a.status_code == 200 and a.text.startswith("<html>")),
        (
            "truncated",
            lambda a: (
                a.status_code == 200 and a.text.startswith('{"name"') and not a.text.endswith("}")
            ),
        ),
    ],
)
def test_injected_faults(fault: str, check: Any) -> None:
    with Emulator(ReportsAPI(now=NOW.timestamp()), Switches(faults={fault: 1.0})) as emu:
        answer = call(emu, "chats/total_chats", GOOD)
        assert check(answer)
        assert emu.stats.faults[fault] == 1


def test_dropped_connection_and_slow_answer() -> None:
    drop = Switches(faults={"drop": 1.0})
    with (
        Emulator(ReportsAPI(now=NOW.timestamp()), drop) as emu,
        pytest.raises(requests.ConnectionError),
    ):
        call(emu, "chats/total_chats", GOOD)
    with (
        Emulator(
            ReportsAPI(now=NOW.timestamp()), Switches(faults={"slow": 1.0}, slow_seconds=2)
        ) as emu,
        pytest.raises(requests.Timeout),
    ):
        requests.post(emu.url + URL, json=GOOD, auth=("demo", "demo-pat"), timeout=0.5)


def test_faults_are_reproducible_from_their_seed() -> None:
    def run() -> list[int]:
        switches = Switches(faults={"500": 0.3, "503": 0.2}, fault_seed=7)
        with Emulator(ReportsAPI(now=NOW.timestamp()), switches) as emu:
            return [call(emu, "chats/total_chats", GOOD).status_code for _ in range(30)]

    first = run()
    assert first == run()
    assert {200, 500, 503} <= set(first)


def test_parse_faults_rejects_unknown_kinds() -> None:
    assert parse_faults("500=0.1, drop=0.05") == {"500": 0.1, "drop": 0.05}
    with pytest.raises(ValueError, match="unknown fault kind `boom`"):
        parse_faults("boom=0.1")
    with pytest.raises(ValueError, match=r"0\.\.1"):
        parse_faults("500=2")


def test_latency_counts_and_concurrency() -> None:
    with Emulator(ReportsAPI(now=NOW.timestamp()), Switches(latency_ms=200)) as emu:
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: call(emu, "chats/ratings", GOOD).status_code, range(8)))
        elapsed = time.monotonic() - started
        assert codes == [200] * 8
        assert 0.2 <= elapsed < 1.2  # served in parallel, not 8 x 200 ms
        assert emu.stats.requests["chats/ratings"] == 8
        assert emu.stats.max_in_flight > 1
        assert emu.stats.finished == 8
        assert 0.2 <= emu.stats.answer_seconds / 8 < 1.2  # the set latency, and its own work


def test_jitter_adds_a_bounded_random_delay() -> None:
    switches = Switches(latency_ms=50, jitter_ms=100, fault_seed=3)
    with Emulator(ReportsAPI(now=NOW.timestamp()), switches) as emu:
        times = []
        for _ in range(8):
            started = time.monotonic()
            call(emu, "customers/unique_visitors", GOOD)
            times.append(time.monotonic() - started)
    assert all(0.05 <= t < 0.4 for t in times)
    assert max(times) - min(times) > 0.02  # not a fixed delay


def test_command_line_serves_the_api() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sources.livechat_emulator",
            "--port",
            "0",
            "--now",
            "2026-11-18T15:30:00+00:00",
            "--unscoped-token",
            "nope",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split(" on ", 1)[1].split("/v3.6")[0]
        answer = requests.post(url + URL, json=GOOD, auth=("demo", "demo-pat"), timeout=10)
        assert answer.status_code == 200
        assert answer.json()["total"] > 0
        refused = requests.post(
            url + URL, json=GOOD, headers={"Authorization": "Bearer nope"}, timeout=10
        )
        assert refused.status_code == 403
    finally:
        process.terminate()
        process.wait(timeout=10)
