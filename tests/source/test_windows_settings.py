"""Table tests of the pure modules: day windows, settings validation, filters."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from sources.livechat.exceptions import ConfigurationError
from sources.livechat.filters import validate_filters
from sources.livechat.plan import plan_requests, request_body
from sources.livechat.reports import REPORTS_BY_NAME
from sources.livechat.settings import resolve_http, resolve_settings
from sources.livechat.windows import Window, periods_touching, plan_range, split
from tests.conftest import load_sample

D = dt.date
TODAY = D(2026, 11, 18)


@pytest.mark.parametrize(
    ("last_loaded", "lookback", "expected"),
    [
        (None, 3, Window(D(2026, 1, 1), TODAY)),  # first run: from start_date
        (D(2026, 11, 18), 3, Window(D(2026, 11, 15), TODAY)),  # next day's run re-fetches 3 days
        (D(2026, 11, 10), 3, Window(D(2026, 11, 7), TODAY)),  # a week off: catch up
        (D(2026, 1, 2), 30, Window(D(2026, 1, 1), TODAY)),  # never before start_date
    ],
)
def test_plan_range(last_loaded: dt.date | None, lookback: int, expected: Window) -> None:
    got = plan_range(
        start_date=D(2026, 1, 1), end_date=TODAY, last_loaded=last_loaded, lookback_days=lookback
    )
    assert got == expected


def test_plan_range_nothing_to_load() -> None:
    assert (
        plan_range(start_date=D(2026, 12, 1), end_date=TODAY, last_loaded=None, lookback_days=3)
        is None
    )


def test_split_covers_every_day_once() -> None:
    parts = split(Window(D(2026, 1, 1), D(2026, 3, 3)), 31)
    assert parts == [Window(D(2026, 1, 1), D(2026, 1, 31)), Window(D(2026, 2, 1), D(2026, 3, 3))]
    assert split(Window(D(2026, 1, 1), D(2026, 1, 1)), 31) == [Window(D(2026, 1, 1), D(2026, 1, 1))]
    with pytest.raises(ValueError, match="positive"):
        split(Window(D(2026, 1, 1), D(2026, 1, 2)), 0)


@pytest.mark.parametrize(
    ("window", "tz", "bounds"),
    [
        (
            Window(D(2021, 4, 8), D(2021, 4, 15)),
            "UTC",
            ("2021-04-08T00:00:00+00:00", "2021-04-15T23:59:59+00:00"),
        ),
        # across the spring change: each side carries its own offset
        (
            Window(D(2026, 3, 28), D(2026, 3, 30)),
            "Europe/Warsaw",
            ("2026-03-28T00:00:00+01:00", "2026-03-30T23:59:59+02:00"),
        ),
        (
            Window(D(2026, 11, 1), D(2026, 11, 1)),
            "America/New_York",
            ("2026-11-01T00:00:00-04:00", "2026-11-01T23:59:59-05:00"),
        ),
        (
            Window(D(2026, 1, 1), D(2026, 1, 1)),
            "Asia/Kolkata",
            ("2026-01-01T00:00:00+05:30", "2026-01-01T23:59:59+05:30"),
        ),
    ],
)
def test_window_bounds(window: Window, tz: str, bounds: tuple[str, str]) -> None:
    assert window.bounds(tz) == bounds


def test_periods_touching_a_window() -> None:
    periods = periods_touching(Window(D(2026, 1, 30), D(2026, 2, 2)))
    assert [(p.kind, p.window.first, p.window.last) for p in periods] == [
        ("week", D(2026, 1, 26), D(2026, 2, 1)),
        ("week", D(2026, 2, 2), D(2026, 2, 8)),
        ("month", D(2026, 1, 1), D(2026, 1, 31)),
        ("month", D(2026, 2, 1), D(2026, 2, 28)),
    ]


def test_request_plan_per_kind() -> None:
    window = Window(D(2026, 1, 1), D(2026, 3, 10))
    assert len(plan_requests(REPORTS_BY_NAME["chats_total_chats"], window, 31)) == 3
    assert len(plan_requests(REPORTS_BY_NAME["chats_ranking"], window, 31)) == 69
    assert len(plan_requests(REPORTS_BY_NAME["chats_queued_visitors_left"], window, 31)) == 69
    by_period = plan_requests(REPORTS_BY_NAME["customers_unique_visitors_by_period"], window, 31)
    assert len(by_period) == 11 + 3  # ISO weeks 2025-W01..2026-W11, months Jan..Mar


def settings(**overrides: Any) -> Any:
    values: dict[str, Any] = {
        "account_id": "acc",
        "timezone": "UTC",
        "start_date": "2026-01-01",
        "end_date": None,
        "backfill": False,
        "lookback_days": 3,
        "window_days": 31,
        "distribution": "day",
        "reports": None,
        "filters": None,
        "today": TODAY,
    }
    values.update(overrides)
    return resolve_settings(**values)


def test_request_bodies_match_the_published_shape() -> None:
    s = settings(timezone="UTC")
    day = Window(D(2021, 4, 8), D(2021, 4, 15))
    body = request_body(REPORTS_BY_NAME["chats_total_chats"], s, day)
    sample = load_sample("chats_total_chats.request")
    assert body["distribution"] == sample["distribution"]
    assert body["filters"] == {
        "from": "2021-04-08T00:00:00+00:00",
        "to": "2021-04-15T23:59:59+00:00",
    }
    assert body["timezone"] == "UTC"
    greetings = request_body(REPORTS_BY_NAME["chats_greetings_conversion"], s, day)
    assert set(greetings["filters"]) == {"greetings"}
    assert "distribution" not in request_body(REPORTS_BY_NAME["chats_ranking"], s, day)


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"account_id": ""}, "account_id"),
        ({"timezone": "Mars/Base"}, "Unknown timezone `Mars/Base`"),
        ({"distribution": "week"}, "Unknown distribution `week`"),
        ({"start_date": "2026-13-01"}, "`start_date` must be a date"),
        ({"end_date": "tomorrow"}, "`end_date` must be a date"),
        ({"start_date": "2026-11-10", "end_date": "2026-11-01"}, "after `end_date`"),
        ({"end_date": "2026-11-19"}, "after today"),
        # a date nobody gave is not blamed
        (
            {"start_date": None, "end_date": "2026-10-01"},
            "`end_date` 2026-10-01 is before the default start (2026-10-19, 30 days before today);"
            " give a `start_date` on or before 2026-10-01 too",
        ),
        (
            {"start_date": "2026-12-01"},
            "`start_date` 2026-12-01 is in the future (today is 2026-11-18",
        ),
        (
            {"reports": "[chats_ratings"},
            "`reports` must be report names separated by commas, or a JSON",
        ),
        ({"lookback_days": 0}, "`lookback_days` must be"),
        ({"window_days": -5}, "`window_days` must be"),
        (
            {"reports": ["chat_duration"]},
            "Unknown report `chat_duration`. Valid reports: chats_duration",
        ),
        (
            {
                "reports": "chats_ratings,agents_performance",
                "filters": {"tags": {"values": ["spam"]}},
            },
            "`tags` by agents_performance",
        ),
        ({"filters": {"from": "2026-01-01"}}, "the pipeline sets the time range"),
        ({"filters": {"agents": {"values": ["a@b.c"], "exists": True}}}, "exactly one of"),
        ({"filters": {"groups": {"values": ["zero"]}}}, "must hold int"),
        ({"filters": {"planets": {}}}, "not a Reports API filter"),
    ],
)
def test_bad_settings_name_the_value_and_the_fix(overrides: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigurationError) as e:
        settings(**overrides)
    assert words in str(e.value)


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"max_concurrency": 0}, "`max_concurrency` must be a whole number of at least 1"),
        ({"max_attempts": 0}, "`max_attempts` must be a whole number of at least 1"),
        ({"request_timeout": 0}, "`request_timeout` must be more than 0"),
        ({"request_timeout": "soon"}, "`request_timeout` must be a number of seconds"),
        ({"backoff_seconds": -1}, "`backoff_seconds` must be a number of seconds, 0 or more"),
    ],
)
def test_bad_http_settings(overrides: dict[str, Any], words: str) -> None:
    values = {
        "max_concurrency": 4,
        "request_timeout": 60.0,
        "max_attempts": 6,
        "backoff_seconds": 1.0,
        **overrides,
    }
    with pytest.raises(ConfigurationError, match=re.escape(words)):
        resolve_http(**values)


def test_the_published_filters_sample_is_valid() -> None:
    sample = load_sample("filters")
    sample.pop("from")
    sample.pop("to")
    assert validate_filters(sample) == sample
    forms = load_sample("surveyFilter")
    for form in forms["forms"]:
        form.pop("from")
        form.pop("to")
    assert validate_filters(forms) == forms


def test_reports_are_selected_by_name_in_registry_order() -> None:
    s = settings(reports="chats_ratings, chats_duration")
    assert [r.name for r in s.reports] == ["chats_duration", "chats_ratings"]
    s = settings(reports='["chats_ratings", "chats_duration"]')  # a JSON list, as env may hold it
    assert [r.name for r in s.reports] == ["chats_duration", "chats_ratings"]
    assert len(settings().reports) == 19  # 17 endpoints, two of them twice
