"""The documented filters applied to the synthetic chats: partitions, complements, GET = POST,
and reports that count the same chats agreeing with each other."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from sources.livechat_emulator import Emulator
from sources.livechat_emulator.license import Chat, day_start, generate_day
from tests.conftest import AUTH, NOW, call, window

MONTH = window("2026-10-01", "2026-10-31")
FIRST_FORM, FIRST_FIELD = "163654772984908812", "163654772984903574"


def ask(emu: Emulator, body: dict[str, Any], report: str = "chats/total_chats") -> dict[str, Any]:
    answer = call(emu, report, body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def total(emu: Emulator, report: str = "chats/total_chats", **filters: Any) -> int:
    return int(ask(emu, {"filters": {**MONTH, **filters}}, report)["total"])


def synthetic(first: str, last: str, keep: Callable[[Chat], bool]) -> list[Chat]:
    """The license's own chats started in whole UTC days first..last and over by NOW."""
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    return [
        c
        for day in days
        for c in generate_day(42, day).chats
        if c.ended_at <= NOW.timestamp() and keep(c)
    ]


def per_bucket(records: dict[str, dict[str, Any]], field: str) -> dict[str, int]:
    return {key: record.get(field, 0) for key, record in records.items()}


# --- missed chats: agent_response.exists ---------------------------------------------------


def test_agent_response_exists_partitions_every_bucket_exactly(emulator: Emulator) -> None:
    def records(**filters: Any) -> dict[str, int]:
        body = {"distribution": "day", "filters": {**MONTH, **filters}}
        return per_bucket(ask(emulator, body)["records"], "total")

    every = records()
    answered = records(agent_response={"exists": True})
    missed = records(agent_response={"exists": False})
    assert sum(missed.values()) > 50 and sum(answered.values()) > 500
    assert {d: answered[d] + missed[d] for d in every} == every


def test_missed_chats_are_exactly_the_chats_with_no_agent_message(emulator: Emulator) -> None:
    missed = synthetic("2026-10-01", "2026-10-31", lambda c: not c.responders)
    got = ask(emulator, {"filters": {**MONTH, "agent_response": {"exists": False}}})
    assert got["total"] == len(missed)
    by_day: dict[str, int] = {}
    for chat in missed:
        key = dt.datetime.fromtimestamp(chat.started_at, dt.timezone.utc).date().isoformat()
        by_day[key] = by_day.get(key, 0) + 1
    assert {k: v for k, v in per_bucket(got["records"], "total").items() if v} == by_day
    # Unassigned chats are missed too, and a missed chat can still be assigned.
    assert any(c.agent is None for c in missed) and any(c.agent is not None for c in missed)


def test_answered_chats_are_what_the_response_time_reports_count(emulator: Emulator) -> None:
    body = {"distribution": "day", "filters": {**MONTH, "agent_response": {"exists": True}}}
    answered = per_bucket(ask(emulator, body)["records"], "total")
    for report in ("chats/first_response_time", "chats/response_time"):
        timed = ask(emulator, {"distribution": "day", "filters": MONTH}, report)["records"]
        assert per_bucket(timed, "count") == answered
    summary = ask(emulator, {"filters": MONTH}, "agents/performance")["summary"]
    assert summary["first_response_chats_count"] == sum(answered.values())


def test_unreplied_and_unassigned_properties_agree_with_the_filters(emulator: Emulator) -> None:
    def prop(name: str, value: bool) -> dict[str, Any]:
        return {"routing": {name: {"values": [value]}}}

    assert total(emulator, properties=prop("unreplied", True)) == total(
        emulator, agent_response={"exists": False}
    )
    unassigned = total(emulator, agents={"exists": False})
    assert unassigned == total(emulator, properties=prop("unassigned", True)) > 0
    assert total(emulator, agents={"exists": False}, agent_response={"exists": True}) == 0
    assert unassigned + total(emulator, agents={"exists": True}) == total(emulator)


def test_first_response_groups_partition_answered_chats_and_follow_transfers(
    emulator: Emulator,
) -> None:
    first = [
        total(emulator, agent_response={"first": True, "groups": {"values": [g]}})
        for g in (0, 1, 2)
    ]
    assert sum(first) == total(emulator, agent_response={"exists": True})
    ended_in = [total(emulator, groups={"values": [g]}) for g in (0, 1, 2)]
    # Transferred chats were first answered in another group than the one they ended in.
    assert first != ended_in
    agents = ask(emulator, {"filters": MONTH}, "chats/ranking")["records"]
    by_first_agent = sum(
        total(emulator, agent_response={"first": True, "agents": {"values": [a]}}) for a in agents
    )
    assert by_first_agent == sum(first)


# --- complements and require_every_value -----------------------------------------------------

FILTERS: list[tuple[str, list[Any], Callable[[dict[str, Any]], dict[str, Any]]]] = [
    ("agents", ["anna.kowalska@example.com", "farid.haddad@example.com"], lambda s: {"agents": s}),
    ("tags", ["spam", "VIP!"], lambda s: {"tags": s}),
    ("customer_countries", ["PL", "DE"], lambda s: {"customer_countries": s}),
    ("groups", [0, 2], lambda s: {"groups": s}),
    ("goals", [1, 4], lambda s: {"goals": s}),
    ("sales", [2, 6], lambda s: {"sales": s}),
    ("event_types", ["file", "rich_message"], lambda s: {"event_types": s}),
    ("greeting ids", [1, 18], lambda s: {"greetings": s}),
    ("greeting groups", [1], lambda s: {"greetings": {"groups": s}}),
    (
        "first responder",
        ["anna.kowalska@example.com", "ben.okafor@example.com"],
        lambda s: {"agent_response": {"first": True, "agents": s}},
    ),
    (
        "a property",
        ["https://www.google.com/", "https://www.bing.com/"],
        lambda s: {"properties": {"routing": {"referrer": s}}},
    ),
    (
        "form answers",
        [f"{FIRST_FIELD}:0", f"{FIRST_FIELD}:1"],
        lambda s: {"forms": [{"type": "pre_chat", **s}]},
    ),
]
NO_REQUIRE_EVERY_VALUE = {"greeting ids", "a property", "form answers"}  # the docs give none


@pytest.mark.parametrize(
    ("label", "values", "wrap", "every"),
    [
        pytest.param(*f, every, id=f"{f[0]}-{'every' if every else 'any'}")
        for f in FILTERS
        for every in (False, True)
        if not every or f[0] not in NO_REQUIRE_EVERY_VALUE
    ],
)
def test_exclude_values_is_the_complement_of_values(
    emulator: Emulator,
    label: str,
    values: list[Any],
    wrap: Callable[[dict[str, Any]], dict[str, Any]],
    every: bool,
) -> None:
    extra = {"require_every_value": True} if every else {}
    kept = total(emulator, **wrap({"values": values, **extra}))
    dropped = total(emulator, **wrap({"exclude_values": values, **extra}))
    assert kept + dropped == total(emulator)
    assert dropped > 0
    assert kept > 0 or every


@pytest.mark.parametrize(
    ("name", "a", "b"),
    [
        ("tags", "support", "sales"),
        ("agents", "anna.kowalska@example.com", "chloe.martin@example.com"),
        ("event_types", "file", "rich_message"),
    ],
)
def test_require_every_value_means_all_of_them(
    emulator: Emulator, name: str, a: str, b: str
) -> None:
    one = total(emulator, **{name: {"values": [a]}})
    other = total(emulator, **{name: {"values": [b]}})
    either = total(emulator, **{name: {"values": [a, b]}})
    both = total(emulator, **{name: {"values": [a, b], "require_every_value": True}})
    assert 0 < both < min(one, other)
    assert either == one + other - both


def test_exists_splits_chats_for_every_filter_that_has_it(emulator: Emulator) -> None:
    every = total(emulator)
    for filters in (
        lambda e: {"tags": {"exists": e}},
        lambda e: {"goals": {"exists": e}},
        lambda e: {"sales": {"exists": e}},
        lambda e: {"greetings": {"exists": e}},
        lambda e: {"properties": {"routing": {"start_url": {"exists": e}}}},
        lambda e: {"properties": {"lc2": {"greeting_id": {"exists": e}}}},
        lambda e: {"forms": [{"type": "pre_chat", "exists": e}]},
    ):
        yes, no = total(emulator, **filters(True)), total(emulator, **filters(False))
        assert yes + no == every and yes > 0 and no > 0, filters(True)


def test_a_property_value_must_have_the_propertys_type(emulator: Emulator) -> None:
    continuous = total(emulator, properties={"routing": {"continuous": {"values": [True]}}})
    records = ask(emulator, {"filters": MONTH})["records"]
    assert continuous == sum(r.get("continuous", 0) for r in records.values()) > 0
    answer = call(
        emulator,
        "chats/total_chats",
        {"filters": {**MONTH, "properties": {"routing": {"continuous": {"values": ["true"]}}}}},
    )
    assert answer.status_code == 422
    assert "booleans" in answer.json()["error"]["message"]
    # A property the emulator does not know is accepted; no chat has it.
    unknown = {"properties": {"custom": {"plan": {"values": ["gold"]}}}}
    assert total(emulator, **unknown) == 0


def test_rated_chats_carry_the_rating_score_property(emulator: Emulator) -> None:
    ratings = ask(emulator, {"filters": MONTH}, "chats/ratings")["records"]
    good = total(emulator, properties={"rating": {"score": {"values": [1]}}})
    bad = total(emulator, properties={"rating": {"score": {"values": [0]}}})
    assert good == sum(r.get("good", 0) for r in ratings.values()) > 0
    assert bad == sum(r.get("bad", 0) for r in ratings.values()) > 0


# --- forms ------------------------------------------------------------------------------------


def test_a_forms_filter_selects_the_chats_that_gave_an_answer(emulator: Emulator) -> None:
    answer = f"{FIRST_FIELD}:1"
    filters = {**MONTH, "forms": [{"type": "pre_chat", "values": [answer]}]}
    forms = ask(emulator, {"filters": filters}, "chats/forms")["records"]
    form = next(f for f in forms if f["form_id"] == FIRST_FORM)
    field = next(f for f in form["fields"] if f["field_id"] == FIRST_FIELD)
    assert field["answers"] == [
        {"answer_id": 1, "label": "Technical support", "count": form["count"]}
    ]
    assert form["count"] == total(emulator, forms=filters["forms"])
    surveys = {**MONTH, "surveys": filters["forms"]}  # the v3.4 name of the same filter
    assert ask(emulator, {"filters": surveys}, "chats/forms")["records"] == forms


def test_form_time_pairs_set_the_range_by_when_the_form_was_sent(emulator: Emulator) -> None:
    # A chat of seed 42 starts at 23:57 on 2026-04-23 and sends its post-chat form after midnight.
    first, last = "2026-04-24", "2026-04-30"
    pair = window(first, last)
    start = day_start(dt.date.fromisoformat(first))
    end = day_start(dt.date.fromisoformat(last)) + 86_399

    def sent_in_range(chat: Chat) -> bool:
        sent = chat.form_submitted_at("post_chat")
        return sent is not None and start <= sent <= end

    sent = synthetic("2026-04-23", last, sent_in_range)
    assert any(c.started_at < start for c in sent)
    body = {
        "distribution": "day",
        "filters": {"forms": [{"type": "post_chat", **pair, "exists": True}]},
    }
    got = ask(emulator, body)
    assert list(got["records"]) == [f"2026-04-{d:02d}" for d in range(24, 31)]
    assert got["total"] == len(sent)
    assert got["request"]["filters"] == {
        "forms": [
            {
                "type": "post_chat",
                "from": "2026-04-24T00:00:00+00:00",
                "to": "2026-04-30T23:59:59+00:00",
                "exists": True,
            }
        ]
    }
    two = {
        "filters": {
            "forms": [
                {"type": "post_chat", **pair, "exists": True},
                {"type": "pre_chat", **pair, "exclude_values": [f"{FIRST_FIELD}:0"]},
            ]
        }
    }
    assert 0 < ask(emulator, two)["total"] < got["total"]


# --- greetings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "distribution"),
    [("UTC", "day"), ("Europe/Warsaw", "day"), ("America/New_York", "hour"), ("UTC", "month")],
)
def test_greetings_accepted_are_engagements_chats_from_greetings(
    emulator: Emulator, timezone: str, distribution: str
) -> None:
    # The v3.6 docs describe both as the same chats: greetings conversion's `accepted` is "the
    # number of chats started as a result of accepting a greeting that day", engagement's
    # `started_by_customer_from_greeting` "the number of chats from greetings ... that day", and
    # `filters.greetings.from/to` "filters chats started from a greeting" in the range.
    body: dict[str, Any] = {"timezone": timezone, "distribution": distribution}
    greetings = ask(
        emulator, {**body, "filters": {"greetings": MONTH}}, "chats/greetings_conversion"
    )
    engagement = ask(emulator, {**body, "filters": MONTH}, "chats/engagement")
    accepted = {k: sum(g["accepted"] for g in r.values()) for k, r in greetings["records"].items()}
    assert accepted == per_bucket(engagement["records"], "started_by_customer_from_greeting")
    assert greetings["total"] == sum(accepted.values()) > 100
    from_greetings = ask(emulator, {**body, "filters": {"greetings": MONTH}})
    assert from_greetings["total"] == greetings["total"]


def test_greeting_filters_agree_between_displays_and_chats(emulator: Emulator) -> None:
    for greetings in ({"groups": {"values": [1]}}, {"values": [2, 19]}, {"exclude_values": [1]}):
        conversion = ask(
            emulator,
            {"filters": {"greetings": {**MONTH, **greetings}}},
            "chats/greetings_conversion",
        )
        chats = total(emulator, greetings=greetings)
        engagement = ask(
            emulator, {"filters": {**MONTH, "greetings": greetings}}, "chats/engagement"
        )
        from_greeting = sum(
            r.get("started_by_customer_from_greeting", 0) for r in engagement["records"].values()
        )
        assert conversion["total"] == from_greeting > 0
        if "exclude_values" not in greetings:  # chats without a greeting pass an exclusion
            assert chats == from_greeting
    groups = ask(
        emulator,
        {"filters": {"greetings": {**MONTH, "groups": {"values": [1]}}}},
        "chats/greetings_conversion",
    )
    shown = {gid for day in groups["records"].values() for gid in day}
    assert shown == {"5", "7", "18", "30"}  # the greetings of group 1
    goals = sum(g["goals"] for day in groups["records"].values() for g in day.values())
    assert goals == total(emulator, greetings={"groups": {"values": [1]}}, goals={"exists": True})


def test_greetings_conversion_takes_only_filters_a_display_has(emulator: Emulator) -> None:
    answer = call(
        emulator,
        "chats/greetings_conversion",
        {"filters": {"greetings": MONTH, "tags": {"values": ["spam"]}}},
    )
    assert answer.status_code == 422
    message = answer.json()["error"]["message"]
    assert "filter `tags` is not accepted by this report" in message
    assert "groups, greetings" in message
    by_groups = ask(
        emulator,
        {"filters": {"greetings": MONTH, "groups": {"values": [1]}}},
        "chats/greetings_conversion",
    )
    by_greeting_groups = ask(
        emulator,
        {"filters": {"greetings": {**MONTH, "groups": {"values": [1]}}}},
        "chats/greetings_conversion",
    )
    assert by_groups["records"] == by_greeting_groups["records"]


# --- agents reports ---------------------------------------------------------------------------


def test_agents_reports_select_agents_by_email_and_group(emulator: Emulator) -> None:
    def agents(**filters: Any) -> set[str]:
        return set(
            ask(emulator, {"filters": {**MONTH, **filters}}, "agents/performance")["records"]
        )

    everyone = agents()
    group0 = agents(groups={"values": [0]})
    assert group0 == {"anna.kowalska@example.com", "ben.okafor@example.com"}
    anna = {"anna.kowalska@example.com"}
    assert agents(agents={"values": sorted(anna)}) == anna
    assert agents(agents={"exclude_values": sorted(anna)}) == everyone - anna
    for refused, words in (
        ({"agents": {"exists": True}}, "`filters.agents` takes only values, exclude_values"),
        ({"groups": {"exclude_values": [0]}}, "`filters.groups` takes only values here"),
    ):
        answer = call(emulator, "agents/availability", {"filters": {**MONTH, **refused}})
        assert answer.status_code == 422 and words in answer.json()["error"]["message"]


# --- GET = POST -------------------------------------------------------------------------------


def query_string(body: dict[str, Any]) -> str:
    """Encode a body the documented GET way (forms items as filters.forms[0].type=...)."""
    pairs: list[tuple[str, str]] = []

    def text(value: Any) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    def walk(prefix: str, value: Any, brackets: int = 0) -> None:
        """`brackets`: how many coming keys go in square brackets (property namespace, name)."""
        if isinstance(value, dict):
            for key, item in value.items():
                name = f"{prefix}[{key}]" if brackets else f"{prefix}.{key}" if prefix else key
                walk(name, item, brackets - 1 if brackets else 2 * (name == "filters.properties"))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for index, item in enumerate(value):
                walk(f"{prefix}[{index}]", item)
        elif isinstance(value, list):
            pairs.extend((prefix, text(v)) for v in value)
        else:
            pairs.append((prefix, text(value)))

    walk("", body)
    return urlencode(pairs)


NESTED = [
    ("chats/greetings_conversion", {"greetings": {**MONTH, "groups": {"values": [1]}}}),
    ("chats/greetings_conversion", {**MONTH, "greetings": {"values": [2, 18]}}),
    (
        "chats/total_chats",
        {
            **MONTH,
            "agent_response": {"first": True, "groups": {"exclude_values": [2]}},
            "properties": {"routing": {"continuous": {"values": [False]}}},
            "goals": {"exists": False},
            "tags": {"values": ["support", "sales"], "require_every_value": False},
        },
    ),
    (
        "chats/engagement",
        {
            **MONTH,
            "event_types": {"exclude_values": ["file", "custom"], "require_every_value": True},
            "properties": {"lc2": {"greeting_id": {"values": [18]}}},
        },
    ),
    ("chats/forms", {"forms": [{"type": "pre_chat", **MONTH, "groups": {"values": [0]}}]}),
    ("chats/duration", {**MONTH, "agent_response": {"exists": False}, "sales": {"values": [2]}}),
]


@pytest.mark.parametrize(("report", "filters"), NESTED)
def test_get_query_strings_answer_like_post_bodies(
    emulator: Emulator, report: str, filters: dict[str, Any]
) -> None:
    body = {"distribution": "day", "timezone": "Europe/Warsaw", "filters": filters}
    posted = call(emulator, report, body)
    got = requests.get(
        f"{emulator.url}/v3.6/reports/{report}?{query_string(body)}", auth=AUTH, timeout=30
    )
    assert posted.status_code == 200, posted.text
    assert got.status_code == 200, got.text
    assert got.json() == posted.json()


def test_the_query_string_encoder_writes_the_documented_form() -> None:
    encoded = query_string(
        {"filters": {"properties": {"routing": {"continuous": {"values": [True]}}}}}
    )
    assert encoded == "filters.properties%5Brouting%5D%5Bcontinuous%5D.values=true"


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("report", "filters", "words"),
    [
        ("chats/total_chats", {"event_types": {"values": ["sms"]}}, "unknown value `sms`"),
        ("chats/total_chats", {"event_types": {"exists": True}}, "takes only values"),
        (
            "chats/total_chats",
            {"agent_response": {"groups": {"values": [1]}}},
            "works only with `filters.agent_response.first`",
        ),
        ("chats/total_chats", {"agent_response": {"exists": "no"}}, "must be a boolean"),
        ("chats/total_chats", {"agent_response": {}}, "must be an object with exists"),
        (
            "chats/total_chats",
            {"forms": [{"type": "exit", "exists": True}]},
            "pre_chat or post_chat",
        ),
        (
            "chats/total_chats",
            {"forms": [{"type": "pre_chat", "values": ["7"]}]},
            "<field_id>:<answer_id>",
        ),
        (
            "chats/total_chats",
            {
                "forms": [{"type": "pre_chat", "exists": True}],
                "surveys": [{"type": "pre_chat", "exists": True}],
            },
            "not both",
        ),
        (
            "chats/total_chats",
            {
                "forms": [
                    {"type": "pre_chat", **window("2026-10-01", "2026-10-02"), "exists": True},
                    {"type": "post_chat", **window("2026-10-01", "2026-10-03"), "exists": True},
                ]
            },
            "differ from an earlier form's",
        ),
        (
            "chats/total_chats",
            {**MONTH, "forms": [{"type": "pre_chat", **MONTH, "exists": True}]},
            "got filters.from/to and filters.forms[].from/to",
        ),
        (
            "chats/total_chats",
            {**MONTH, "greetings": MONTH},
            "got filters.from/to and filters.greetings.from/to",
        ),
        (
            "chats/total_chats",
            {"tags": {"exists": True, "require_every_value": True}},
            "goes with values",
        ),
        (
            "chats/total_chats",
            {"properties": {"routing": {"continuous": {"exists": True, "values": [True]}}}},
            "exactly one of",
        ),
        (
            "chats/total_chats",
            {
                "properties": {
                    "routing": {"referrer": {"values": ["a"], "require_every_value": True}}
                }
            },
            "takes only values, exclude_values, exists",
        ),
        ("chats/total_chats", {"greetings": {"values": ["18"]}}, "array of integers"),
        ("tags/chat_usage", {"groups": {"exists": True}}, "takes only values here"),
    ],
)
def test_bad_filters_get_422_saying_what_is_wrong(
    emulator: Emulator, report: str, filters: dict[str, Any], words: str
) -> None:
    answer = call(emulator, report, {"filters": filters})
    assert answer.status_code == 422, answer.text
    assert words in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("filters.agent_response.exists=maybe", "must be true or false; got `maybe`"),
        ("filters.greetings.groups.values=one", "must be integers; got `one`"),
        ("filters.forms.type=pre_chat", "give its items as filters.forms[0].type"),
        ("filters.tags.exists=true&filters.tags.exists=false", "given 2 times"),
    ],
)
def test_bad_query_strings_get_422(emulator: Emulator, query: str, words: str) -> None:
    answer = requests.get(
        f"{emulator.url}/v3.6/reports/chats/total_chats?{query}", auth=AUTH, timeout=30
    )
    assert answer.status_code == 422
    assert words in answer.json()["error"]["message"]
