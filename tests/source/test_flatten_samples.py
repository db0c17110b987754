"""Contract: every published sample flattens to the rows it should, value for value."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sources.livechat.exceptions import ResponseShapeError
from sources.livechat.flatten import Context
from sources.livechat.reports import REPORTS_BY_NAME
from sources.livechat.windows import Window
from tests.conftest import load_sample

D = dt.date
SAMPLE_WEEK = Window(D(2021, 4, 8), D(2021, 4, 15))


def flatten(
    report: str, sample: str, window: Window, **ctx: Any
) -> dict[str, list[dict[str, Any]]]:
    spec = REPORTS_BY_NAME[report]
    body = load_sample(f"{sample}.response")
    context = Context(spec.path, spec.name, "acc", window, ctx.pop("timezone", "UTC"), **ctx)
    return spec.flatten(body, context)


def by_day(rows: list[dict[str, Any]], *columns: str) -> dict[Any, tuple[Any, ...]]:
    return {r["report_date"]: tuple(r.get(c) for c in columns) for r in rows}


def test_duration_keeps_every_day_and_nulls_for_empty_buckets() -> None:
    rows = flatten("chats_duration", "chats_duration", SAMPLE_WEEK)["chats_duration"]
    assert len(rows) == 8
    assert all(r["account_id"] == "acc" for r in rows)
    got = by_day(rows, "agents_chatting_duration", "count", "duration")
    assert got[D(2021, 4, 8)] == (10800, 37, 12100)
    assert got[D(2021, 4, 12)] == (None, None, None)
    assert got[D(2021, 4, 15)] == (3600, 171, 5500)


def test_total_chats_and_ratings_values() -> None:
    totals = by_day(
        flatten("chats_total_chats", "chats_total_chats", SAMPLE_WEEK)["chats_total_chats"],
        "total",
        "continuous",
    )
    assert totals[D(2021, 4, 10)] == (59, 51)
    assert sum(t[0] or 0 for t in totals.values()) == 369
    ratings = by_day(
        flatten("chats_ratings", "chats_ratings", SAMPLE_WEEK)["chats_ratings"],
        "chats",
        "good",
        "bad",
    )
    assert ratings[D(2021, 4, 11)] == (3, None, 1)
    assert ratings[D(2021, 4, 13)] == (2, None, None)
    assert ratings[D(2021, 4, 15)] == (28, 7, None)


def test_tags_become_one_row_per_day_and_tag() -> None:
    rows = flatten("chats_tags", "chats_tags", SAMPLE_WEEK)["chats_tags"]
    got = {(r["report_date"], r["tag"]): r["chats"] for r in rows}
    assert len(rows) == 12  # 6 days with 2 tags; the 2 empty days give no row
    assert got[(D(2021, 4, 8), "spam")] == 14
    assert got[(D(2021, 4, 15), "support")] == 27
    assert sum(got.values()) == 216


def test_engagement_omits_zero_origins_as_null() -> None:
    window = Window(D(2021, 8, 16), D(2021, 8, 23))
    got = by_day(
        flatten("chats_engagement", "chats_engagement", window)["chats_engagement"],
        "started_by_customer_from_greeting",
        "started_by_customer_without_greeting",
        "started_by_agent",
    )
    assert got[D(2021, 8, 16)] == (187, 689, 3)
    assert got[D(2021, 8, 20)] == (277, 1051, None)


def test_greetings_are_keyed_by_greeting_id_with_all_four_counts() -> None:
    window = Window(D(2021, 9, 20), D(2021, 9, 28))
    rows = flatten("chats_greetings_conversion", "chats_greetings_conversion", window)[
        "chats_greetings_conversion"
    ]
    assert [
        (
            r["report_date"],
            r["greeting_id"],
            r["accepted"],
            r["canceled"],
            r["displayed"],
            r["goals"],
        )
        for r in rows
    ] == [
        (D(2021, 9, 27), "1", 1, 0, 2, 0),
        (D(2021, 9, 27), "18", 0, 0, 1, 0),
        (D(2021, 9, 27), "19", 2, 0, 2, 0),
    ]


def test_response_times_and_groups() -> None:
    rt = by_day(
        flatten("chats_response_time", "chats_response_time", SAMPLE_WEEK)["chats_response_time"],
        "count",
        "response_time",
    )
    assert rt[D(2021, 4, 9)] == (4, 41.35)
    frt = by_day(
        flatten("chats_first_response_time", "chats_first_response_time", SAMPLE_WEEK)[
            "chats_first_response_time"
        ],
        "count",
        "first_response_time",
    )
    assert frt[D(2021, 4, 11)] == (9, 3.34)
    groups = flatten("chats_groups", "chats_groups", Window(D(2024, 8, 20), D(2024, 8, 22)))[
        "chats_groups"
    ]
    assert {(r["report_date"].day, r["group_id"], r["chats"]) for r in groups} == {
        (20, "0", 1),
        (20, "2", 1),
        (21, "0", 20),
        (21, "1", 2),
        (22, "0", 1),
        (22, "1", 2),
        (22, "3", 1),
        (22, "4", 1),
    }


def test_queued_visitors_flatten_nested_stats() -> None:
    rows = flatten(
        "chats_queued_visitors", "chats_queued_visitors", Window(D(2024, 10, 1), D(2024, 10, 3))
    )["chats_queued_visitors"]
    first = rows[0]
    assert (first["queued_count"], first["queued_min"], first["queued_max"]) == (13, 0, 20)
    assert first["left_queue_avg"] == pytest.approx(20.538461538461538)
    assert rows[2] == {"account_id": "acc", "report_date": D(2024, 10, 3)}


def test_availability_hours_with_zeros_present() -> None:
    got = by_day(
        flatten("agents_availability", "agents_availability", SAMPLE_WEEK)["agents_availability"],
        "hours",
    )
    assert got[D(2021, 4, 8)] == (0,)
    assert got[D(2021, 4, 12)] == (7.99,)
    assert sum(v[0] for v in got.values()) == pytest.approx(19.59)


def test_range_reports_stamp_the_requested_day() -> None:
    day = Window(D(2021, 4, 8), D(2021, 4, 8))
    ranking = flatten("chats_ranking", "chats_ranking", day)["chats_ranking"]
    assert ranking == [
        {
            "account_id": "acc",
            "report_date": D(2021, 4, 8),
            "agent_id": "smith@example.com",
            "total": 2,
            "good": 0,
            "bad": 2,
            "score": 0.11473482425785904,
        },
        {
            "account_id": "acc",
            "report_date": D(2021, 4, 8),
            "agent_id": "agent@example.com",
            "total": 19,
            "good": 13,
            "bad": 6,
            "score": 0.42326713031463276,
        },
    ]
    perf = flatten("agents_performance", "agents_performance", day)["agents_performance"]
    smith = next(r for r in perf if r["agent_id"] == "smith@example.com")
    assert smith["first_response_time"] == pytest.approx(9.666666666666666)
    assert (smith["chats_count"], smith["logged_in_time"], smith["not_accepting_chats_time"]) == (
        4,
        45304,
        10008,
    )
    usage = flatten("tags_chat_usage", "tags_chat_usage", day)["tags_chat_usage"]
    assert {r["tag"]: r["chats"] for r in usage} == {"docs_feedback": 4, "spam": 3, "support": 3}
    visitors = flatten("customers_unique_visitors", "customers_unique_visitors", day)[
        "customers_unique_visitors"
    ]
    assert visitors == [
        {"account_id": "acc", "report_date": D(2021, 4, 8), "unique_visitors": 4, "page_views": 23}
    ]


def test_forms_fill_two_tables() -> None:
    tables = flatten("chats_forms", "chats_forms", Window(D(2021, 4, 8), D(2021, 4, 8)))
    assert tables["chats_forms"] == [
        {
            "account_id": "acc",
            "report_date": D(2021, 4, 8),
            "form_id": "163654772984908812",
            "group_id": 0,
            "count": 5,
        }
    ]
    assert [
        (r["field_id"], r["answer_id"], r["field_label"], r["answer_label"], r["count"])
        for r in tables["chats_form_answers"]
    ] == [
        ("163654772984903574", "0", "Question:", "First answer", 3),
        ("163654772984903574", "1", "Question:", "Second answer", 2),
    ]


def test_queued_visitors_left_rows() -> None:
    rows = flatten(
        "chats_queued_visitors_left",
        "chats_queued_visitors_left",
        Window(D(2024, 10, 1), D(2024, 10, 1)),
    )["chats_queued_visitors_left"]
    assert rows[0]["chat_id"] == "SK0P33W2ZJ"
    assert rows[0]["visitor_id"] == "0f864f86-556e-46a9-848e-d2d5fe0a8fe0"
    assert rows[0]["queue_duration"] == 123 and rows[0]["queue_group_id"] == 0
    assert rows[0]["queue_started_at"] == dt.datetime(
        2024, 10, 1, 20, 47, 7, tzinfo=dt.timezone.utc
    )
    assert rows[1]["visitor_name"] is None and rows[1]["queue_group_id"] == 6291


def flatten_queue_left(body: dict[str, Any]) -> list[dict[str, Any]]:
    spec = REPORTS_BY_NAME["chats_queued_visitors_left"]
    window = Window(D(2024, 10, 1), D(2024, 10, 1))
    return spec.flatten(body, Context(spec.path, spec.name, "acc", window, "UTC"))[spec.name]


def test_unknown_queue_visitor_and_record_fields_become_columns() -> None:
    body = load_sample("chats_queued_visitors_left.response")
    first = body["records"]["SK0P33W2ZJ"]
    first["queue"].update({"priority": 3, "department": "sales", "routing": {"rule": "vip"}})
    first["visitor"]["country"] = "PL"
    first["prechat_survey"] = [{"question": "Name?", "answer": "Ann"}]
    rows = flatten_queue_left(body)
    assert (rows[0]["queue_priority"], rows[0]["queue_department"]) == (3, "sales")
    assert rows[0]["queue_routing"] == {"rule": "vip"}
    assert rows[0]["visitor_country"] == "PL"
    assert rows[0]["prechat_survey"] == [{"question": "Name?", "answer": "Ann"}]
    assert rows[0]["queue_duration"] == 123 and rows[0]["queue_group_id"] == 0
    # the other chat has none of them: the columns are null there once loaded
    assert not {"queue_priority", "visitor_country", "prechat_survey"} & set(rows[1])


@pytest.mark.parametrize(("inside", "field"), [("queue", "group_id"), (None, "visitor_id")])
def test_an_unknown_field_that_would_overwrite_a_column_fails(
    inside: str | None, field: str
) -> None:
    body = load_sample("chats_queued_visitors_left.response")
    record = body["records"]["SK0Q3SGMBN"]
    (record[inside] if inside else record)[field] = 7
    column = f"{inside}_{field}" if inside else field
    with pytest.raises(ResponseShapeError, match=f"would overwrite the column `{column}`"):
        flatten_queue_left(body)


def test_unique_visitors_per_period() -> None:
    week = Window(D(2024, 1, 1), D(2024, 1, 7))
    rows = flatten("customers_unique_visitors_by_period", "stats_visitors", week, period="week")[
        "customers_unique_visitors_by_period"
    ]
    assert rows == [
        {
            "account_id": "acc",
            "period": "week",
            "period_start": D(2024, 1, 1),
            "period_end": D(2024, 1, 7),
            "unique_visitors": 282,
            "page_views": 366,
        }
    ]


def test_hour_buckets_become_report_hour_in_utc() -> None:
    spec = REPORTS_BY_NAME["chats_total_chats"]
    body = {
        "name": "total-chats-report",
        "records": {"2024-03-31 01:00:00": {"total": 1}, "2024-03-31 03:00:00": {}},
    }
    ctx = Context(
        spec.path, spec.name, "acc", Window(D(2024, 3, 31), D(2024, 3, 31)), "Europe/Warsaw", "hour"
    )
    rows = spec.flatten(body, ctx)["chats_total_chats"]
    # 01:00 is still CET (+01:00); 03:00 is already CEST (+02:00).
    assert [r["report_hour"] for r in rows] == [
        dt.datetime(2024, 3, 31, 0, tzinfo=dt.timezone.utc),
        dt.datetime(2024, 3, 31, 1, tzinfo=dt.timezone.utc),
    ]
    assert "total" not in rows[1] and rows[1]["report_date"] == D(2024, 3, 31)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"name": "total-chats-report"}, "no `records`"),
        ({"name": "total-chats-report", "records": []}, "should be an object"),
        ({"name": "total-chats-report", "records": {"2021/04/08": {}}}, "not a day bucket"),
        (
            {"name": "total-chats-report", "records": {"2021-05-01": {}}},
            "outside the requested days",
        ),
        (
            {"name": "total-chats-report", "records": {"2021-04-08": {"total": "12"}}},
            "should be a number",
        ),
        (
            {"name": "total-chats-report", "records": {"2021-04-08": {"total": True}}},
            "should be a number",
        ),
        (
            {"name": "total-chats-report", "records": {"2021-04-08": {}}},
            "no bucket for requested days 2021-04-09",
        ),
    ],
)
def test_bad_shapes_fail_with_the_report_and_window(body: dict[str, Any], words: str) -> None:
    spec = REPORTS_BY_NAME["chats_total_chats"]
    ctx = Context(spec.path, spec.name, "acc", Window(D(2021, 4, 8), D(2021, 4, 9)), "UTC")
    with pytest.raises(
        ResponseShapeError, match=r"chats/total_chats for 2021-04-08\.\.2021-04-09"
    ) as e:
        spec.flatten(body, ctx)
    assert words in str(e.value)


def test_unknown_metric_fields_become_columns() -> None:
    spec = REPORTS_BY_NAME["chats_total_chats"]
    body = {"records": {"2021-04-08": {"total": 3, "transferred": 1, "bots": {"count": 2}}}}
    ctx = Context(spec.path, spec.name, "acc", Window(D(2021, 4, 8), D(2021, 4, 8)), "UTC")
    assert spec.flatten(body, ctx)["chats_total_chats"] == [
        {
            "account_id": "acc",
            "report_date": D(2021, 4, 8),
            "total": 3,
            "transferred": 1,
            "bots_count": 2,
        }
    ]
