"""Property tests over response shapes: a bad body loads correctly or fails clearly, never silently."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sources.livechat.client import LiveChatClient
from sources.livechat.exceptions import LiveChatAPIError, LiveChatError, ResponseShapeError
from sources.livechat.flatten import Context
from sources.livechat.reports import REPORTS_BY_NAME
from sources.livechat.windows import Window
from tests.conftest import load_sample

D = dt.date
# report -> (sample, window the sample covers)
CASES = {
    "chats_duration": ("chats_duration", Window(D(2021, 4, 8), D(2021, 4, 15))),
    "chats_tags": ("chats_tags", Window(D(2021, 4, 8), D(2021, 4, 15))),
    "chats_ratings": ("chats_ratings", Window(D(2021, 4, 8), D(2021, 4, 15))),
    "chats_greetings_conversion": (
        "chats_greetings_conversion",
        Window(D(2021, 9, 20), D(2021, 9, 28)),
    ),
    "chats_queued_visitors": ("chats_queued_visitors", Window(D(2024, 10, 1), D(2024, 10, 3))),
    "chats_ranking": ("chats_ranking", Window(D(2021, 4, 8), D(2021, 4, 8))),
    "agents_performance": ("agents_performance", Window(D(2021, 4, 8), D(2021, 4, 8))),
    "chats_forms": ("chats_forms", Window(D(2021, 4, 8), D(2021, 4, 8))),
    "tags_chat_usage": ("tags_chat_usage", Window(D(2021, 4, 8), D(2021, 4, 8))),
    "customers_unique_visitors": (
        "customers_unique_visitors",
        Window(D(2021, 4, 8), D(2021, 4, 8)),
    ),
    "chats_queued_visitors_left": (
        "chats_queued_visitors_left",
        Window(D(2024, 10, 1), D(2024, 10, 1)),
    ),
}
KEYS = (
    "account_id",
    "report_date",
    "tag",
    "greeting_id",
    "agent_id",
    "form_id",
    "field_id",
    "answer_id",
    "chat_id",
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a body."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += paths(item, (*prefix, i))
    return found


def mutate(body: dict[str, Any], path: tuple[Any, ...], action: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    if not path:
        return body
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "replace":
        parent[last] = value
    elif action == "delete":
        del parent[last]
    elif action == "add" and isinstance(parent[last], dict):
        parent[last]["unexpected_field"] = value
    elif action == "rekey" and isinstance(parent, dict):
        parent[f"{last}?x"] = parent.pop(last)
    return body


def check_rows(tables: dict[str, list[dict[str, Any]]], report: str) -> None:
    """Whatever loads is well-formed: key columns set, values scalar or JSON-able, nothing odd."""
    for rows in tables.values():
        for row in rows:
            assert row["account_id"] == "acc"
            for key in KEYS:
                if key in row:
                    assert row[key] is not None and not isinstance(row[key], (dict, list)), (
                        report,
                        key,
                        row,
                    )
            for column, value in row.items():
                json.dumps(value, default=str)  # loadable
                if column in REPORTS_BY_NAME[report].table.columns and REPORTS_BY_NAME[
                    report
                ].table.columns[column] in ("bigint", "double"):
                    assert value is None or (
                        isinstance(value, (int, float)) and not isinstance(value, bool)
                    ), (column, value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    report=st.sampled_from(sorted(CASES)),
    pick=st.integers(min_value=0, max_value=10_000),
    action=st.sampled_from(["replace", "delete", "add", "rekey"]),
    value=json_values,
)
def test_a_mutated_body_loads_well_formed_rows_or_fails_clearly(
    report: str, pick: int, action: str, value: Any
) -> None:
    sample, window = CASES[report]
    spec = REPORTS_BY_NAME[report]
    body = load_sample(f"{sample}.response")
    candidates = paths(body)
    body = mutate(body, candidates[pick % len(candidates)], action, value)
    ctx = Context(spec.path, spec.name, "acc", window, "UTC")
    try:
        tables = spec.flatten(body, ctx)
    except ResponseShapeError as error:
        assert f"{spec.path} for {window}" in str(error)
        return
    check_rows(tables, report)


@pytest.mark.parametrize("records", [{}, [], None, "<html>"])
def test_records_of_the_wrong_kind_fail_for_series(records: Any) -> None:
    spec = REPORTS_BY_NAME["chats_total_chats"]
    ctx = Context(spec.path, spec.name, "acc", Window(D(2021, 4, 8), D(2021, 4, 9)), "UTC")
    with pytest.raises(ResponseShapeError):
        spec.flatten({"name": "total-chats-report", "records": records}, ctx)


def test_an_empty_range_answer_is_an_empty_day() -> None:
    spec = REPORTS_BY_NAME["chats_ranking"]
    ctx = Context(spec.path, spec.name, "acc", Window(D(2021, 4, 8), D(2021, 4, 8)), "UTC")
    assert spec.flatten({"name": "ranking-report", "records": {}}, ctx) == {"chats_ranking": []}


def fake_answer(status: int, text: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = text.encode()
    response.headers["Content-Type"] = "application/json"
    return response


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"error": {"type": "internal", "message": "oops"}}', "HTTP 200 internal: oops"),
        ("[1, 2, 3]", "not a JSON object"),
        ("<html>busy</html>", "not valid JSON"),
    ],
)
def test_odd_200_answers_become_livechat_errors(
    monkeypatch: pytest.MonkeyPatch, text: str, words: str
) -> None:
    client = LiveChatClient(
        base_url="http://127.0.0.1:9",
        api_version="3.6",
        authorization="Basic x",
        max_attempts=2,
        sleep=lambda _: None,
    )
    monkeypatch.setattr(requests.Session, "post", lambda *a, **k: fake_answer(200, text))
    with pytest.raises(LiveChatAPIError) as error:
        client.post("chats/total_chats", {}, "2026-10-01")
    assert isinstance(error.value, LiveChatError)
    assert words in str(error.value) and "chats/total_chats for 2026-10-01" in str(error.value)
