"""Contract: every emulated report has the shape of its published v3.6 sample."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import call, load_sample, window

# report path -> (sample name, levels of data-keyed objects under `records`)
REPORTS = {
    "chats/duration": ("chats_duration", 1),
    "chats/tags": ("chats_tags", 2),
    "chats/total_chats": ("chats_total_chats", 1),
    "chats/ratings": ("chats_ratings", 1),
    "chats/ranking": ("chats_ranking", 1),
    "chats/engagement": ("chats_engagement", 1),
    "chats/greetings_conversion": ("chats_greetings_conversion", 2),
    "chats/forms": ("chats_forms", 0),
    "chats/response_time": ("chats_response_time", 1),
    "chats/first_response_time": ("chats_first_response_time", 1),
    "chats/groups": ("chats_groups", 2),
    "chats/queued_visitors": ("chats_queued_visitors", 1),
    "chats/queued_visitors_left": ("chats_queued_visitors_left", 1),
    "agents/availability": ("agents_availability", 1),
    "agents/performance": ("agents_performance", 1),
    "tags/chat_usage": ("tags_chat_usage", 1),
    "customers/unique_visitors": ("customers_unique_visitors", 0),
    "stats/visitors": ("stats_visitors", 0),
}
# Fields the published samples do not show: the v3.6 docs list the queue's `url` and the visitor's
# `name` and `email` as optional, and Airbyte's LiveChat connector schema has `entered_chat`.
OPTIONAL_PATHS = {
    "chats/queued_visitors": {"records.<date>.entered_chat"},
    "chats/queued_visitors_left": {
        "records.<chat_id>.visitor.name",
        "records.<chat_id>.visitor.email",
        "records.<chat_id>.queue.url",
    },
}


def key_kind(key: str) -> str:
    """Classify a data key the way the samples use them."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", key):
        return "<date>"
    if re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", key):
        return "<email>"
    if re.fullmatch(r"\d+", key):
        return "<id>"
    if re.fullmatch(r"[A-Z0-9]{10}", key):
        return "<chat_id>"
    return "<name>"


def value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def paths(value: Any, depth: int, prefix: str = "") -> dict[str, set[str]]:
    """Map every path in a body to the kinds of value found there; data keys become their kind."""
    found: dict[str, set[str]] = {}
    if isinstance(value, dict):
        found.setdefault(prefix, set()).add("dict")
        for key, item in value.items():
            label = key_kind(key) if depth > 0 else key
            child = f"{prefix}.{label}" if prefix else label
            deeper = max(depth - 1, 0)
            for p, kinds in paths(item, deeper, child).items():
                found.setdefault(p, set()).update(kinds)
    elif isinstance(value, list):
        found.setdefault(prefix, set()).add("list")
        for item in value:
            for p, kinds in paths(item, depth, f"{prefix}[]").items():
                found.setdefault(p, set()).update(kinds)
    else:
        found.setdefault(prefix, set()).add(value_kind(value))
    return found


def record_paths(body: dict[str, Any], depth: int) -> dict[str, set[str]]:
    """Paths of a body; `records` gets `depth` levels of data keys."""
    result: dict[str, set[str]] = {}
    for key, item in body.items():
        for p, kinds in paths(item, depth if key == "records" else 0, key).items():
            result.setdefault(p, set()).update(kinds)
    return result


@pytest.mark.parametrize("report", sorted(REPORTS))
def test_emulated_report_has_the_sample_shape(emulator: Any, report: str) -> None:
    sample_name, depth = REPORTS[report]
    sample = load_sample(f"{sample_name}.response")
    filters = window("2026-10-01", "2026-10-31")
    body = {
        "filters": {"greetings": filters} if report == "chats/greetings_conversion" else filters
    }
    answer = call(emulator, report, body)
    assert answer.status_code == 200, answer.text
    got = answer.json()

    assert got["name"] == sample["name"]
    assert set(got) == set(sample) | {"request"}
    assert set(got["request"]) == {"distribution", "timezone", "filters"}

    expected = record_paths(sample, depth)
    actual = record_paths({k: v for k, v in got.items() if k != "request"}, depth)
    optional = OPTIONAL_PATHS.get(report, set())
    extra = {p for p in actual if p not in expected and not any(p.startswith(o) for o in optional)}
    assert not extra, f"paths the sample does not have: {sorted(extra)}"
    missing = set(expected) - set(actual)
    assert not missing, f"sample paths the emulator never produced: {sorted(missing)}"
    for path, kinds in expected.items():
        assert actual[path] <= kinds | {"dict"}, f"{path}: {actual[path]} vs sample {kinds}"


def test_empty_buckets_are_empty_objects_and_zeros_are_omitted(emulator: Any) -> None:
    # 2026-11-19 is after the clock (NOW is 2026-11-18 15:30): nothing exists there yet.
    got = call(emulator, "chats/ratings", {"filters": window("2026-11-17", "2026-11-19")}).json()
    assert got["records"]["2026-11-19"] == {}
    bucket = got["records"]["2026-11-17"]
    assert bucket["chats"] > 0
    assert all(value != 0 for value in bucket.values())
