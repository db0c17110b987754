"""The page's small rules: embedding text safely, rounding like a browser, naming a change."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.dashboard.page import change, duration, embed_json, embed_script, fmt
from pipelines.dashboard.periods import METRICS

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


@given(json_values)
def test_embedded_json_reads_back_and_cannot_close_its_element(value: object) -> None:
    text = embed_json(value)
    assert json.loads(text) == value
    # inside <script type="application/json"> only `</script` (any case) or `<!--` could end it
    assert "<" not in text and ">" not in text and "&" not in text
    assert text.isascii()


def test_embedded_json_is_stable() -> None:
    assert embed_json({"b": 1, "a": [1.5, None, "</script>"]}) == (
        '{"a":[1.5,null,"\\u003c/script\\u003e"],"b":1}'
    )


def test_embedded_script_keeps_its_end() -> None:
    code = 'const s = "</script><script>alert(1)</SCRIPT>"; // <!-- x'
    safe = embed_script(code)
    assert not re.search(r"</script", safe, re.IGNORECASE) and "<!--" not in safe


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (1234, "count", "1,234"),
        (0.5625, "rate", "56.3%"),  # an exact half rounds up, as Vega's format does
        (0.56249, "rate", "56.2%"),
        (1234.25, "hours", "1,234.3 h"),
        (0.4375, "score", "0.438"),  # exactly 7/16: the half goes up
        (0.4205, "score", "0.420"),  # stored a hair below the half, as toFixed sees it too
        (None, "rate", "–"),
        (30.5, "seconds", "31 s"),
        (59.4, "seconds", "59 s"),
        (59.5, "seconds", "1 min 00 s"),
        (430.2, "seconds", "7 min 10 s"),
        (7325, "seconds", "2 h 02 min"),
    ],
)
def test_values_are_written_for_people(value: float | None, kind: str, text: str) -> None:
    assert fmt(value, kind) == text


def test_durations_below_a_minute_are_seconds() -> None:
    assert duration(0) == "0 s" and duration(0.4) == "0 s"


@pytest.mark.parametrize(
    ("key", "current", "previous", "text", "tone"),
    [
        ("total_chats", 110, 100, "+10.0%", "neutral"),  # more chats is neither good nor bad
        ("satisfaction_rate", 0.70, 0.65, "+5.0 pp", "good"),
        ("satisfaction_rate", 0.60, 0.65, "-5.0 pp", "bad"),
        ("avg_first_response_time_seconds", 30.0, 40.0, "-25.0%", "good"),
        ("queue_abandonment_rate", 0.5, 0.4, "+10.0 pp", "bad"),
        ("avg_response_time_seconds", 40.01, 40.0, "±0.0%", "neutral"),
    ],
)
def test_a_change_says_how_much_and_whether_it_is_better(
    key: str, current: float, previous: float, text: str, tone: str
) -> None:
    metric = next(m for m in METRICS if m.key == key)
    moved = change(metric, current, previous)
    assert moved is not None and (moved.text, moved.tone) == (text, tone)


def test_no_change_against_nothing() -> None:
    chats = METRICS[0]
    assert change(chats, 10, 0) is None and change(chats, None, 5) is None
