"""Properties the oracle must satisfy: additivity, splitting, timezones, Wilson, determinism."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sources.livechat_emulator import Emulator, ReportsAPI, wilson_score
from tests.conftest import NOW, call, window

ADDITIVE = {
    "chats/total_chats": "total",
    "chats/ratings": "chats",
    "chats/duration": "count",
}


def bucket_sum(records: dict[str, dict[str, Any]], field: str) -> int:
    return sum(r.get(field, 0) for r in records.values())


@pytest.mark.parametrize(("report", "field"), sorted(ADDITIVE.items()))
def test_daily_buckets_add_up_to_the_month_and_the_total(
    emulator: Emulator, report: str, field: str
) -> None:
    days = call(
        emulator, report, {"distribution": "day", "filters": window("2026-09-01", "2026-09-30")}
    ).json()
    month = call(
        emulator, report, {"distribution": "month", "filters": window("2026-09-01", "2026-09-30")}
    ).json()
    assert list(month["records"]) == ["2026-09"]
    assert len(days["records"]) == 30
    daily = bucket_sum(days["records"], field)
    assert daily > 500
    assert daily == month["records"]["2026-09"][field] == days["total"] == month["total"]


def test_hour_buckets_add_up_to_their_day(emulator: Emulator) -> None:
    filters = window("2026-09-07", "2026-09-08")
    days = call(emulator, "chats/total_chats", {"distribution": "day", "filters": filters}).json()[
        "records"
    ]
    hours = call(
        emulator, "chats/total_chats", {"distribution": "hour", "filters": filters}
    ).json()["records"]
    assert len(hours) == 48
    per_day: Counter[str] = Counter()
    for key, record in hours.items():
        per_day[key[:10]] += record.get("total", 0)
    assert per_day == Counter({d: r["total"] for d, r in days.items()})


def test_tag_usage_over_a_range_is_the_sum_of_daily_tag_counts(emulator: Emulator) -> None:
    filters = window("2026-08-01", "2026-08-31")
    daily = call(emulator, "chats/tags", {"filters": filters}).json()["records"]
    usage = call(emulator, "tags/chat_usage", {"filters": filters}).json()["records"]
    summed: Counter[str] = Counter()
    for record in daily.values():
        summed.update(record)
    assert dict(summed) == usage
    assert "Sales – EU" in usage


def test_greetings_and_groups_add_up(emulator: Emulator) -> None:
    filters = window("2026-08-01", "2026-08-31")
    greetings = call(
        emulator, "chats/greetings_conversion", {"filters": {"greetings": filters}}
    ).json()
    assert greetings["total"] == sum(
        g["accepted"] for day in greetings["records"].values() for g in day.values()
    )
    groups = call(emulator, "chats/groups", {"filters": filters}).json()
    assert groups["total"] == sum(sum(day.values()) for day in groups["records"].values())


@settings(max_examples=15, deadline=None)
@given(
    split=st.integers(min_value=1, max_value=13),
    report=st.sampled_from([*sorted(ADDITIVE), "chats/tags"]),
)
def test_a_range_is_the_union_of_its_sub_ranges(
    emulator: Emulator, split: int, report: str
) -> None:
    first = dt.date(2026, 7, 1)
    cut = first + dt.timedelta(days=split)
    last = first + dt.timedelta(days=13)
    whole = call(emulator, report, {"filters": window(str(first), str(last))}).json()["records"]
    left = call(
        emulator, report, {"filters": window(str(first), str(cut - dt.timedelta(days=1)))}
    ).json()["records"]
    right = call(emulator, report, {"filters": window(str(cut), str(last))}).json()["records"]
    assert whole == {**left, **right}


def test_the_same_instants_in_two_timezones_give_the_same_totals(emulator: Emulator) -> None:
    # 2026-10-25 is the day clocks go back in Europe: the range spans the change.
    utc = window("2026-10-20", "2026-10-30")
    for report, field in ADDITIVE.items():
        a = call(emulator, report, {"timezone": "UTC", "filters": utc}).json()
        b = call(emulator, report, {"timezone": "Europe/Warsaw", "filters": utc}).json()
        assert a["total"] == b["total"]
        assert bucket_sum(a["records"], field) == bucket_sum(b["records"], field) == a["total"]
        # Warsaw cuts the same instants into one more (partial) day bucket.
        assert len(b["records"]) == len(a["records"]) + 1


def test_buckets_follow_dst_in_the_requested_timezone(emulator: Emulator) -> None:
    # Warsaw's 2026-10-25 has 25 hours; the repeated 02:00 hour is one bucket.
    filters = {"from": "2026-10-25T00:00:00+02:00", "to": "2026-10-25T23:59:59+01:00"}
    body = {"distribution": "hour", "timezone": "Europe/Warsaw", "filters": filters}
    hours = call(emulator, "agents/availability", body).json()["records"]
    assert len(hours) == 24
    day = call(emulator, "agents/availability", {**body, "distribution": "day"}).json()["records"]
    assert list(day) == ["2026-10-25"]
    minutes = sum(h["minutes"] for h in hours.values())
    assert abs(minutes / 60 - day["2026-10-25"]["hours"]) < 0.05


@pytest.mark.parametrize(
    ("good", "bad", "expected"),
    [
        (10, 2, 0.5194200469),
        (2, 0, 0.3312764381),
        (0, 2, 0.11473482425785904),
        (13, 6, 0.42326713031463276),
    ],
)
def test_wilson_score_matches_livechat_examples(good: int, bad: int, expected: float) -> None:
    assert wilson_score(good, bad) == pytest.approx(expected, abs=1e-10)


def test_ranking_scores_are_the_wilson_score_of_good_and_bad(emulator: Emulator) -> None:
    ranking = call(
        emulator, "chats/ranking", {"filters": window("2026-09-01", "2026-09-30")}
    ).json()["records"]
    assert len(ranking) >= 6
    for agent in ranking.values():
        assert agent["total"] == agent["good"] + agent["bad"]
        assert agent["score"] == wilson_score(agent["good"], agent["bad"])
    scores = [a["score"] for a in ranking.values()]
    assert scores == sorted(scores, reverse=True)


def test_ratings_and_ranking_agree(emulator: Emulator) -> None:
    filters = window("2026-09-01", "2026-09-30")
    ratings = call(emulator, "chats/ratings", {"filters": filters}).json()["records"]
    ranking = call(emulator, "chats/ranking", {"filters": filters}).json()["records"]
    assert bucket_sum(ratings, "good") == sum(a["good"] for a in ranking.values())
    assert bucket_sum(ratings, "bad") == sum(a["bad"] for a in ranking.values())


def test_weekly_unique_visitors_are_fewer_than_the_sum_of_days(emulator: Emulator) -> None:
    week = call(
        emulator, "customers/unique_visitors", {"filters": window("2026-09-07", "2026-09-13")}
    ).json()
    days = [
        call(emulator, "customers/unique_visitors", {"filters": window(d, d)}).json()["summary"]
        for d in (f"2026-09-{n:02d}" for n in range(7, 14))
    ]
    assert week["summary"]["unique_visitors"] < sum(d["unique_visitors"] for d in days)
    assert week["summary"]["page_views"] == sum(d["page_views"] for d in days)


def test_performance_summary_is_consistent(emulator: Emulator) -> None:
    got = call(
        emulator, "agents/performance", {"filters": window("2026-09-01", "2026-09-07")}
    ).json()
    agents, summary = got["records"], got["summary"]
    assert summary["chats_count"] == sum(a["chats_count"] for a in agents.values())
    weighted = sum(
        a["first_response_time"] * a["first_response_chats_count"] for a in agents.values()
    )
    assert summary["first_response_time"] == pytest.approx(
        weighted / summary["first_response_chats_count"]
    )
    for a in agents.values():
        assert a["logged_in_time"] == a["accepting_chats_time"] + a["not_accepting_chats_time"]


def test_same_request_twice_and_after_a_restart_gives_the_same_bytes(emulator: Emulator) -> None:
    body = {
        "distribution": "hour",
        "timezone": "America/New_York",
        "filters": window("2026-06-01", "2026-06-03"),
    }
    first = call(emulator, "chats/response_time", body).content
    assert call(emulator, "chats/response_time", body).content == first
    with Emulator(ReportsAPI(now=NOW.timestamp())) as restarted:
        assert call(restarted, "chats/response_time", body).content == first


def test_nothing_exists_after_now_and_ratings_arrive_later() -> None:
    day = window("2026-11-16", "2026-11-16")
    early = dt.datetime(2026, 11, 16, 12, tzinfo=dt.timezone.utc)
    with Emulator(ReportsAPI(now=early.timestamp())) as emu:
        midday = call(emu, "chats/ratings", {"filters": day}).json()["records"]["2026-11-16"]
        emu.api.now = (early + dt.timedelta(hours=12)).timestamp()
        evening = call(emu, "chats/ratings", {"filters": day}).json()["records"]["2026-11-16"]
        emu.api.now = (early + dt.timedelta(days=3)).timestamp()
        settled = call(emu, "chats/ratings", {"filters": day}).json()["records"]["2026-11-16"]
        emu.api.now = (early + dt.timedelta(days=30)).timestamp()
        later = call(emu, "chats/ratings", {"filters": day}).json()["records"]["2026-11-16"]
    assert 0 < midday["chats"] < evening["chats"] == settled["chats"]
    rated = lambda r: r.get("good", 0) + r.get("bad", 0)  # noqa: E731
    assert rated(evening) < rated(settled)
    assert settled == later


def test_days_before_the_license_start_are_empty() -> None:
    with Emulator(ReportsAPI(now=NOW.timestamp(), license_start=dt.date(2026, 5, 10))) as emu:
        records = call(
            emu, "chats/total_chats", {"filters": window("2026-05-08", "2026-05-11")}
        ).json()["records"]
    assert records["2026-05-08"] == records["2026-05-09"] == {}
    assert records["2026-05-10"]["total"] > 0
