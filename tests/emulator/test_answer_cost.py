"""What makes the emulator's answers cheap must not change a byte of them.

Benchmarks time loads against the emulator at a set latency per request; an emulator that
spends milliseconds of CPU on each answer answers later than that on a two-core machine. Its
shortcuts (weighted draws without `random.choices`, cached buckets, keys looked up in the
buckets, days generated ahead) are checked here against the slow rule each replaces, and the
answers to a fixed set of requests against a digest taken before any of them existed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from sources.livechat_emulator import GeneratedAccounts, generated_account
from sources.livechat_emulator import license as days
from sources.livechat_emulator.buckets import bucket_key, buckets, key_in
from sources.livechat_emulator.license import (
    CLIENT_IDS,
    GROUP_IDS,
    HOUR_WEIGHTS,
    HOURS,
    _cumulative,
    _weighted,
)

NOW = dt.datetime(2026, 11, 20, 6, tzinfo=dt.timezone.utc).timestamp()
# The digest of the answers to `REQUESTS` as the emulator gave them before its answers were
# made cheaper (commit da73994). Change it only with a change meant to change the data.
ANSWERS_DIGEST = "9ed1bfadce9ef7cb7779719249d182da11c272617cdd8bab39c4eae0ed39cf2c"
REPORTS = (
    "chats/total_chats",
    "chats/duration",
    "chats/tags",
    "chats/ratings",
    "chats/ranking",
    "chats/greetings_conversion",
    "chats/engagement",
    "chats/response_time",
    "chats/forms",
    "agents/availability",
    "agents/performance",
    "customers/unique_visitors",
    "chats/queued_visitors_left",
)
RANGES = (
    ("UTC", "day", "2026-11-18T00:00:00+00:00", "2026-11-20T23:59:59+00:00"),
    ("America/New_York", "day", "2026-03-05T00:00:00-05:00", "2026-03-10T23:59:59-04:00"),
    ("America/New_York", "hour", "2026-11-01T00:00:00-04:00", "2026-11-01T23:59:59-05:00"),
    ("Asia/Kolkata", "day-hours", "2026-11-10T00:00:00+05:30", "2026-11-19T23:59:59+05:30"),
    ("Asia/Kathmandu", "month", "2026-08-01T00:00:00+05:45", "2026-11-19T23:59:59+05:45"),
    ("Australia/Lord_Howe", "hour", "2026-10-03T00:00:00+10:30", "2026-10-04T23:59:59+11:00"),
    ("UTC", "day", "2026-11-19T07:00:00+00:00", "2026-11-21T03:00:00+00:00"),
)


def requests_of(index: int) -> list[tuple[str, str, str, str, bytes]]:
    """Every report over every range, plain and filtered by a tag, for one generated account."""
    spec = generated_account(index)
    auth = "Basic " + _b64(f"{spec.account_id}:{spec.personal_access_token}")
    found = []
    for timezone, distribution, start, end in RANGES:
        for report in REPORTS:
            for extra in ({}, {"tags": {"values": ["sales"]}}):
                body = {
                    "timezone": timezone,
                    "filters": {"from": start, "to": end, **extra},
                    "distribution": distribution,
                }
                path = f"/v3.6/reports/{report}"
                found.append(("POST", path, "", auth, json.dumps(body).encode()))
    return found


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


REQUESTS = [request for index in (0, 1) for request in requests_of(index)]


def digest(api: GeneratedAccounts) -> str:
    answers = (api.handle(*request).encode() for request in REQUESTS)
    return hashlib.sha256(b"\n".join(answers)).hexdigest()


@pytest.fixture
def default_cache() -> Iterator[None]:
    """Leave the shared day cache as every other test finds it."""
    yield
    days.keep_days(days.DAYS_KEPT)


def test_the_answers_are_those_of_the_emulator_before_its_shortcuts() -> None:
    answered = GeneratedAccounts(2, now=NOW)
    assert all(answered.handle(*r).status in (200, 422) for r in REQUESTS[:50])
    assert digest(GeneratedAccounts(2, now=NOW)) == ANSWERS_DIGEST


@pytest.mark.parametrize(
    ("population", "weights"),
    [
        (HOURS, HOUR_WEIGHTS),
        (GROUP_IDS, (5, 3, 2)),
        (CLIENT_IDS, (16, 3, 1)),
        ((0, 1, 2), (3, 5, 2)),
    ],
)
def test_a_weighted_draw_is_the_draw_of_random_choices(
    population: tuple[object, ...], weights: tuple[int, ...]
) -> None:
    ours, theirs = random.Random("draws"), random.Random("draws")
    cumulative = _cumulative(weights)
    drawn = [_weighted(ours, population, cumulative) for _ in range(5000)]
    assert drawn == [theirs.choices(population, weights=weights)[0] for _ in range(5000)]
    assert set(drawn) == set(population)  # every value drawn, so the weights were used


@pytest.mark.parametrize(
    ("timezone", "distribution", "first", "last"),
    [
        ("UTC", "day", "2026-11-01", "2026-11-30"),
        ("America/New_York", "hour", "2026-03-07", "2026-03-09"),  # clocks go forward
        ("America/New_York", "day", "2026-10-30", "2026-11-03"),  # and back
        ("Asia/Kathmandu", "month", "2026-01-01", "2026-04-30"),
        ("Australia/Lord_Howe", "hour", "2026-04-04", "2026-04-06"),  # a half-hour shift
        ("Europe/Warsaw", "year", "2025-06-01", "2026-06-30"),
    ],
)
def test_a_key_looked_up_in_the_buckets_is_the_key_of_its_local_time(
    timezone: str, distribution: str, first: str, last: str
) -> None:
    zone = ZoneInfo(timezone)
    start = int(dt.datetime.fromisoformat(f"{first}T00:00:00").replace(tzinfo=zone).timestamp())
    end = int(dt.datetime.fromisoformat(f"{last}T23:59:59").replace(tzinfo=zone).timestamp())
    cut = buckets(start, end, timezone, distribution)
    starts = [b.start for b in cut]
    for instant in range(start, end + 1, 7 * 60 + 13):
        expected = bucket_key(dt.datetime.fromtimestamp(instant, zone), distribution)
        assert key_in(cut, starts, instant) == expected, instant
    assert key_in(cut, starts, end) == bucket_key(
        dt.datetime.fromtimestamp(end, zone), distribution
    )
    assert key_in(cut, starts, start - 1) is None
    assert key_in(cut, starts, end + 1) is None
    assert buckets(start, end, timezone, distribution) is cut  # cached


@pytest.mark.usefixtures("default_cache")
def test_days_generated_ahead_are_kept_and_change_no_answer() -> None:
    api = GeneratedAccounts(3, now=NOW)
    generated = api.generate(dt.date(2026, 3, 1), dt.date(2026, 11, 30))
    assert generated == 3 * ((dt.date(2026, 11, 20) - dt.date(2026, 3, 1)).days + 1)
    kept = days.generate_day.cache_info()
    assert kept.currsize == generated
    assert kept.maxsize is not None and kept.maxsize >= generated
    answers = digest(api)
    after = days.generate_day.cache_info()
    assert after.misses == kept.misses  # no day generated while answering
    assert answers == ANSWERS_DIGEST
