"""The source's filter validation against the documented grammar, and against the emulator.

Each case states what the v3.6 documentation says (accepted or refused for that report); the
source must decide so before any request, and the emulator, which follows the docs, must
answer so too. Before this check the source refused `require_every_value` with
`exclude_values`, did not know `greetings` and `surveys`, took `agent_response.agents` without
`first`, any mode of agents/groups for the agents reports and chat usage, and any event type.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sources.livechat.exceptions import ConfigurationError
from sources.livechat.reports import REPORTS_BY_NAME
from sources.livechat.settings import resolve_settings
from sources.livechat_emulator.filters import ValidationError, parse_filters
from sources.livechat_emulator.reports import REPORTS as EMULATED

TODAY = dt.date(2026, 3, 1)
RANGE = {"from": "2026-02-01T00:00:00+00:00", "to": "2026-02-01T23:59:59+00:00"}

CASES: list[tuple[str, str, dict[str, Any], bool]] = [
    # (why, report, filters, documented as accepted)
    ("exclude_values with require_every_value", "chats_total_chats",
     {"tags": {"exclude_values": ["spam", "VIP!"], "require_every_value": True}}, True),
    ("values with require_every_value", "chats_total_chats",
     {"tags": {"values": ["spam", "VIP!"], "require_every_value": True}}, True),
    ("require_every_value with exists", "chats_total_chats",
     {"tags": {"exists": True, "require_every_value": True}}, False),
    ("greeting ids", "chats_total_chats", {"greetings": {"values": [1, 5]}}, True),
    ("greetings of a group", "chats_engagement", {"greetings": {"groups": {"values": [0]}}}, True),
    ("greetings of a group, greetings conversion", "chats_greetings_conversion",
     {"greetings": {"groups": {"values": [1]}}}, True),
    ("groups, greetings conversion", "chats_greetings_conversion",
     {"groups": {"exclude_values": [2]}}, True),
    ("tags, greetings conversion (counts displays)", "chats_greetings_conversion",
     {"tags": {"values": ["spam"]}}, False),
    ("greeting ids are integers", "chats_total_chats", {"greetings": {"values": ["1"]}}, False),
    ("surveys, the v3.4 name of forms", "chats_total_chats",
     {"surveys": [{"type": "pre_chat", "exists": True}]}, True),
    ("forms and surveys together", "chats_total_chats",
     {"forms": [{"type": "pre_chat", "exists": True}],
      "surveys": [{"type": "post_chat", "exists": True}]}, False),
    ("a form filter with an unknown key", "chats_total_chats",
     {"forms": [{"type": "pre_chat", "exists": True, "require_every_value": True}]}, False),
    ("agent_response.agents without first", "chats_total_chats",
     {"agent_response": {"agents": {"values": ["anna.kowalska@example.com"]}}}, False),
    ("agent_response.groups without first", "chats_ratings",
     {"agent_response": {"groups": {"values": [1]}}}, False),
    ("agent_response.groups with first", "chats_ratings",
     {"agent_response": {"first": True, "groups": {"values": [1]}}}, True),
    ("missed chats", "chats_total_chats", {"agent_response": {"exists": False}}, True),
    ("agents.values, agents report", "agents_performance",
     {"agents": {"values": ["anna.kowalska@example.com"]}}, True),
    ("agents.exists, agents report", "agents_performance", {"agents": {"exists": True}}, False),
    ("groups.values, agents report", "agents_availability", {"groups": {"values": [0]}}, True),
    ("groups.exclude_values, agents report", "agents_availability",
     {"groups": {"exclude_values": [0]}}, False),
    ("tags, agents report", "agents_availability", {"tags": {"values": ["spam"]}}, False),
    ("groups.values, chat usage", "tags_chat_usage", {"groups": {"values": [0, 2]}}, True),
    ("groups.exists, chat usage", "tags_chat_usage", {"groups": {"exists": True}}, False),
    ("agents, chat usage", "tags_chat_usage", {"agents": {"values": ["x@example.com"]}}, False),
    ("a documented event type", "chats_total_chats", {"event_types": {"values": ["file"]}}, True),
    ("an unknown event type", "chats_total_chats", {"event_types": {"values": ["planet"]}}, False),
    ("event_types.exists", "chats_total_chats", {"event_types": {"exists": True}}, False),
    ("groups, a customer report (queued)", "chats_queued_visitors",
     {"groups": {"values": [0]}}, False),
    ("groups, queued visitors who left", "chats_queued_visitors_left",
     {"groups": {"values": [0]}}, False),
    ("groups, unique visitors", "customers_unique_visitors", {"groups": {"values": [0]}}, False),
]  # fmt: skip


def _source_accepts(report: str, filters: dict[str, Any]) -> bool:
    try:
        resolve_settings(
            account_id="acc", timezone="UTC", start_date=TODAY, end_date=TODAY, backfill=True,
            lookback_days=1, window_days=1, distribution="day", reports=[report],
            filters=filters, today=TODAY,
        )  # fmt: skip
    except ConfigurationError:
        return False
    return True


def _emulator_accepts(report: str, filters: dict[str, Any]) -> bool:
    spec = REPORTS_BY_NAME[report]
    emulated = EMULATED[spec.path]
    body = {**filters}
    if spec.time_filter == "greetings":
        body["greetings"] = {**body.get("greetings", {}), **RANGE}
    else:
        body.update(RANGE)
    try:
        parse_filters(body, emulated.accepts)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("why", "report", "filters", "documented"), CASES, ids=[c[0] for c in CASES]
)
def test_the_source_and_the_emulator_follow_the_docs(
    why: str, report: str, filters: dict[str, Any], documented: bool
) -> None:
    assert _source_accepts(report, filters) is documented, why
    assert _emulator_accepts(report, filters) is documented, why
