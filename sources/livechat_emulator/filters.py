"""The documented Reports API filters: validate them per report and decide what passes.

`parse_filters` checks a request's `filters` object against what one report accepts and returns
`Filters`: the validated filters (echoed back in `request.filters`), the time pair that sets the
report's range, and the tests that chats, greeting displays and agents must pass.

Documented, and applied as written: `values` passes chats having any of the values, and all of
them with `require_every_value`; `exists = false` on `agents` is the unassigned chats;
`agent_response.first` makes `agent_response.agents` / `.groups` test the first response, and
they "work only" with it (so without it they are refused); `greetings.from/to` selects chats
started from a greeting in that range; a request has one pair of time filters; agents reports
take `agents.*` and `groups.values`, `tags/chat_usage` takes `groups.values`, and the customer
reports (unique visitors, queued visitors and those who left the queue) take only from/to.

LiveChat does not document the rest; the emulator assumes:
- `exclude_values` passes chats having none of the values, and with `require_every_value`
  drops only chats having all of them, so it is always the exact complement of `values`.
- A chat's `agents` are its assignee and every agent who answered; `groups` is the group it
  ended in; `agent_response.exists = false` is a chat with no agent message (a missed chat).
- `properties` test the default properties chats carry (`license.PROPERTY_TYPES`); values must
  have the property's type; a property the emulator does not know is accepted and no chat has it.
- `event_types` values are the Agent Chat API's event types; `exists` is refused (not listed).
- `greetings.values` / `.exclude_values` / `.exists` test the id of the greeting a chat started
  from, an integer like the `lc2.greeting_id` property; `greetings.groups` tests its group.
- `forms[]` (`surveys[]`, its v3.4 name) holds tests that must all pass, each on the chat's form
  of `type`: answer ids are `<field_id>:<answer_id>`; `exists`, `groups` and `from/to` need the
  form, sent at the chat's start (pre-chat) or end (post-chat). Elements that set `from/to` must
  set the same pair; it is the report's range and chats are bucketed by when that form was sent.
- `chats/greetings_conversion` counts displays, so it takes only what a display has: `groups`
  and `greetings.*`. Agents reports select agents (by email, and by the group they belong to).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .license import (
    AGENTS_BY_EMAIL,
    EVENT_TYPES,
    FORMS_BY_ID,
    PROPERTY_TYPES,
    Chat,
    GreetingEvent,
)

STRING_FILTERS = ("agents", "tags", "customer_countries")
INT_FILTERS = ("groups", "sales", "goals")
MODES = ("values", "exclude_values", "exists")
ALL_MODES = (*MODES, "require_every_value")
CHAT_FILTERS = (
    *STRING_FILTERS,
    *INT_FILTERS,
    "event_types",
    "properties",
    "agent_response",
    "greetings",
    "forms",
    "surveys",
)
FORM_TYPES = ("pre_chat", "post_chat")
ANSWER_ID = re.compile(r"^\d+:\d+$")
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|z|[+-]\d{2}:\d{2})$",
)

ChatTest = Callable[[Chat, int], bool]
T = TypeVar("T")


class ValidationError(Exception):
    """The request is invalid; answered with 422 and `error.type` = `validation`."""


@dataclass(frozen=True)
class Accepts:
    """What filters one report accepts.

    Attributes:
        filters: Filter name -> the modes it takes (`values`, `exclude_values`, `exists`,
            `require_every_value`); composite filters (properties, agent_response, greetings,
            forms) take their documented keys.
        target: What the filters select: `chats`, `greetings` (displays) or `agents`.
    """

    filters: Mapping[str, tuple[str, ...]]
    target: str = "chats"


CHATS = Accepts({name: ALL_MODES for name in CHAT_FILTERS})
GREETINGS = Accepts({"groups": ALL_MODES, "greetings": ALL_MODES}, "greetings")
AGENTS = Accepts(
    {"agents": ("values", "exclude_values", "require_every_value"), "groups": ("values",)},
    "agents",
)
CHAT_USAGE = Accepts({"groups": ("values",)})
NO_FILTERS = Accepts({})
PAIR_NAMES = {
    "filters": "filters.from/to",
    "greetings": "filters.greetings.from/to",
    "forms": "filters.forms[].from/to",
}


def parse_rfc3339(value: Any, name: str) -> dt.datetime:
    """Parse an RFC 3339 date-time with an explicit offset.

    Raises:
        ValidationError: When the value is not an RFC 3339 string with an offset.
    """
    if not isinstance(value, str) or not RFC3339.match(value):
        raise ValidationError(
            f"`{name}` must be an RFC 3339 date-time with an offset, like"
            f" 2021-04-08T00:00:00-00:00; got `{value}`"
        )
    text = value[:-1] + "+00:00" if value[-1] in "Zz" else value
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise ValidationError(f"`{name}` is not a valid date-time: `{value}`") from e


def matches(spec: Mapping[str, Any], found: Collection[Any]) -> bool:
    """Whether an item with the values `found` passes one exists/values/exclude_values filter."""
    if "exists" in spec:
        return bool(found) is spec["exists"]
    every = spec.get("require_every_value", False)
    if "values" in spec:
        wanted = spec["values"]
        return all(v in found for v in wanted) if every else any(v in found for v in wanted)
    excluded = spec["exclude_values"]
    return not all(v in found for v in excluded) if every else not any(v in found for v in excluded)


@dataclass(frozen=True)
class TimePair:
    """The pair of time filters that sets a report's range.

    Attributes:
        kind: `filters` (filters.from/to), `greetings` (filters.greetings.from/to) or `forms`
            (filters.forms[].from/to).
        start: First instant, epoch seconds.
        end: Last instant, epoch seconds, inclusive.
        form_type: For `forms`: the type of the first element that carries the pair.
    """

    kind: str
    start: int
    end: int
    form_type: str | None = None


@dataclass(frozen=True)
class Filters:
    """A request's validated filters and the tests they make.

    Attributes:
        spec: The filters without the top-level and greetings time pair, as the request gave them
            (after decoding); echoed in `request.filters`.
        pair: The time pair, or None for the default range.
        chat_tests: Tests every counted chat must pass: (chat, now) -> bool.
        greeting_tests: Tests every counted greeting display must pass.
        agent_tests: Tests an agent (email) must pass in the agents reports.
    """

    spec: Mapping[str, Any] = field(default_factory=dict)
    pair: TimePair | None = None
    chat_tests: tuple[ChatTest, ...] = ()
    greeting_tests: tuple[Callable[[GreetingEvent], bool], ...] = ()
    agent_tests: tuple[Callable[[str], bool], ...] = ()

    def chat(self, chat: Chat, now: int) -> bool:
        """Whether a chat passes every filter."""
        return all(test(chat, now) for test in self.chat_tests)

    def greeting(self, event: GreetingEvent) -> bool:
        """Whether a greeting display passes every filter."""
        return all(test(event) for test in self.greeting_tests)

    def agent(self, email: str) -> bool:
        """Whether an agent passes the agents reports' filters."""
        return all(test(email) for test in self.agent_tests)


def _item_type_name(item_type: type | None) -> str:
    return "integers" if item_type is int else "strings" if item_type is str else "booleans"


def _check_mode_spec(
    path: str,
    spec: Any,
    item_type: type | None,
    modes: Sequence[str] = ALL_MODES,
    allowed_values: Collection[Any] | None = None,
) -> dict[str, Any]:
    """Validate one exists/values/exclude_values filter; `item_type` None takes any scalar."""
    if not isinstance(spec, dict):
        raise ValidationError(f'`{path}` must be an object, like {{"values": [...]}}')
    unknown = sorted(set(spec) - set(ALL_MODES))
    if unknown:
        raise ValidationError(
            f"`{path}` has unknown keys {unknown}; allowed: {', '.join(ALL_MODES)}"
        )
    refused = sorted(set(spec) - set(modes))
    if refused:
        raise ValidationError(
            f"`{path}` takes only {', '.join(modes)} here; got {', '.join(refused)}"
        )
    given = [m for m in MODES if m in spec]
    if len(given) != 1:
        choices = ", ".join(m for m in MODES if m in modes)
        raise ValidationError(f"`{path}` must have exactly one of {choices}; got {given or 'none'}")
    mode = given[0]
    if mode == "exists":
        if not isinstance(spec["exists"], bool):
            raise ValidationError(f"`{path}.exists` must be a boolean")
    else:
        values = spec[mode]
        if not isinstance(values, list) or not values:
            raise ValidationError(f"`{path}.{mode}` must be a non-empty array")
        for value in values:
            if item_type is None:
                ok = isinstance(value, (str, int, float))
            else:
                ok = isinstance(value, item_type) and (
                    item_type is bool or not isinstance(value, bool)
                )
            if not ok:
                raise ValidationError(
                    f"`{path}.{mode}` must be a non-empty array of "
                    f"{_item_type_name(item_type) if item_type else 'scalars'}; got `{value!r}`"
                )
            if allowed_values is not None and value not in allowed_values:
                raise ValidationError(
                    f"`{path}.{mode}` has an unknown value `{value}`; valid:"
                    f" {', '.join(map(str, allowed_values))}"
                )
    if "require_every_value" in spec and (
        mode == "exists" or not isinstance(spec["require_every_value"], bool)
    ):
        raise ValidationError(
            f"`{path}.require_every_value` is a boolean that goes with values or exclude_values"
        )
    return dict(spec)


def _time_pair(holder: Mapping[str, Any], prefix: str) -> tuple[int, int] | None:
    has_from, has_to = "from" in holder, "to" in holder
    if not has_from and not has_to:
        return None
    if has_from != has_to:
        raise ValidationError(f"`{prefix}.from` and `{prefix}.to` must be given together")
    start = parse_rfc3339(holder["from"], f"{prefix}.from")
    end = parse_rfc3339(holder["to"], f"{prefix}.to")
    if start > end:
        raise ValidationError(
            f"`{prefix}.from` ({holder['from']}) is after `{prefix}.to` ({holder['to']})"
        )
    return int(start.timestamp()), int(end.timestamp())


def _first_response_group(chat: Chat) -> tuple[int, ...]:
    return () if chat.first_response_group is None else (chat.first_response_group,)


def _greeting_ids(chat: Chat) -> tuple[int, ...]:
    return () if chat.greeting_id is None else (int(chat.greeting_id),)


def _greeting_group(chat: Chat) -> tuple[int, ...]:
    return () if chat.greeting_id is None else (chat.group_id,)


# The values a chat has for each filter that tests a set of values.
CHAT_VALUES: dict[str, Callable[[Chat], Collection[Any]]] = {
    "agents": Chat.agents,
    "tags": lambda c: c.tags,
    "customer_countries": lambda c: (c.country,),
    "groups": lambda c: (c.group_id,),
    "sales": lambda c: c.sales,
    "goals": lambda c: c.goals,
    "event_types": lambda c: c.event_types,
    "agent_response.agents": lambda c: c.responders[:1],
    "agent_response.groups": _first_response_group,
    "greetings": _greeting_ids,
    "greetings.groups": _greeting_group,
}
# ... that a greeting display has, and that an agent has in the agents reports.
GREETING_VALUES: dict[str, Callable[[GreetingEvent], Collection[Any]]] = {
    "groups": lambda e: (e.group_id,),
    "greetings.groups": lambda e: (e.group_id,),
    "greetings": lambda e: (int(e.greeting_id),),
}
AGENT_VALUES: dict[str, Callable[[str], Collection[Any]]] = {
    "agents": lambda email: (email,),
    "groups": lambda email: (AGENTS_BY_EMAIL[email].group_id,),
}


def _test(
    spec: Mapping[str, Any], values_of: Callable[[T], Collection[Any]]
) -> Callable[[T], bool]:
    return lambda item: matches(spec, values_of(item))


def _chat_test(spec: Mapping[str, Any], key: str) -> ChatTest:
    values_of = CHAT_VALUES[key]
    return lambda chat, now: matches(spec, values_of(chat))


def _properties(spec: Any) -> tuple[dict[str, Any], list[ChatTest]]:
    if not isinstance(spec, dict) or not spec:
        raise ValidationError(
            "`filters.properties` must be an object of namespaces, each an object of properties,"
            ' like {"routing": {"continuous": {"values": [true]}}}'
        )
    checked: dict[str, Any] = {}
    tests: list[ChatTest] = []
    for namespace, props in spec.items():
        if not isinstance(props, dict) or not props:
            raise ValidationError(
                f"`filters.properties.{namespace}` must be an object of properties"
            )
        checked[namespace] = {}
        for name, prop in props.items():
            path = f"filters.properties.{namespace}.{name}"
            item_type = PROPERTY_TYPES.get((namespace, name))
            prop = _check_mode_spec(path, prop, item_type, MODES)
            checked[namespace][name] = prop
            tests.append(_property_test(namespace, name, prop))
    return checked, tests


def _property_test(namespace: str, name: str, spec: Mapping[str, Any]) -> ChatTest:
    # 1 == True in Python: compare (type, value) pairs so `values: [1]` never matches `true`.
    typed = {k: v if k == "exists" else [(type(x), x) for x in v] for k, v in spec.items()}

    def test(chat: Chat, now: int) -> bool:
        value = chat.property_value(namespace, name, now)
        return matches(typed, () if value is None else ((type(value), value),))

    return test


def _agent_response(spec: Any, modes: Sequence[str]) -> tuple[dict[str, Any], list[ChatTest]]:
    if not isinstance(spec, dict) or not spec:
        raise ValidationError(
            "`filters.agent_response` must be an object with exists, first, agents or groups"
        )
    unknown = sorted(set(spec) - {"exists", "first", "agents", "groups"})
    if unknown:
        raise ValidationError(
            f"`filters.agent_response` has unknown keys {unknown}; allowed: exists, first,"
            " agents, groups"
        )
    for flag in ("exists", "first"):
        if flag in spec and not isinstance(spec[flag], bool):
            raise ValidationError(f"`filters.agent_response.{flag}` must be a boolean")
    checked = dict(spec)
    tests: list[ChatTest] = []
    if "exists" in spec:
        exists = spec["exists"]
        tests.append(lambda chat, now: bool(chat.responders) is exists)
    for key, item_type in (("agents", str), ("groups", int)):
        if key not in spec:
            continue
        if spec.get("first") is not True:
            raise ValidationError(
                f"`filters.agent_response.{key}` works only with `filters.agent_response.first`"
                " set to true (it tests the agents' first response)"
            )
        path = f"agent_response.{key}"
        checked[key] = _check_mode_spec(f"filters.{path}", spec[key], item_type, modes)
        tests.append(_chat_test(checked[key], path))
    return checked, tests


def _greetings(
    spec: Any, modes: Sequence[str]
) -> tuple[dict[str, Any], tuple[int, int] | None, list[ChatTest], list[Callable[[Any], bool]]]:
    """Validate `filters.greetings`: its time pair, greeting ids and groups."""
    if not isinstance(spec, dict):
        raise ValidationError("`filters.greetings` must be an object")
    unknown = sorted(set(spec) - {"from", "to", "groups", *MODES})
    if unknown:
        raise ValidationError(
            f"`filters.greetings` has unknown keys {unknown}; allowed: from, to, groups, exists,"
            " values, exclude_values"
        )
    pair = _time_pair(spec, "filters.greetings")
    checked = dict(spec)
    chat_tests: list[ChatTest] = []
    display_tests: list[Callable[[GreetingEvent], bool]] = []
    ids = {k: v for k, v in spec.items() if k in MODES}
    for key, sub in (("greetings", ids), ("greetings.groups", spec.get("groups"))):
        if not sub:
            continue
        checked_sub = _check_mode_spec(f"filters.{key}", sub, int, modes)
        if key == "greetings.groups":
            checked["groups"] = checked_sub
        chat_tests.append(_chat_test(checked_sub, key))
        display_tests.append(_test(checked_sub, GREETING_VALUES[key]))
    return checked, pair, chat_tests, display_tests


def _forms(name: str, spec: Any) -> tuple[list[Any], TimePair | None, list[ChatTest]]:
    """Validate `filters.forms` (or `filters.surveys`): one test per element."""
    example = '[{"type": "pre_chat", "values": ["163654772984903574:0"]}]'
    if not isinstance(spec, list) or not spec:
        raise ValidationError(f"`filters.{name}` must be a non-empty array, like {example}")
    checked: list[Any] = []
    tests: list[ChatTest] = []
    pair: TimePair | None = None
    for index, element in enumerate(spec):
        path = f"filters.{name}[{index}]"
        if not isinstance(element, dict):
            raise ValidationError(f"`{path}` must be an object, like {example[1:-1]}")
        unknown = sorted(set(element) - {"type", "from", "to", "groups", *MODES})
        if unknown:
            raise ValidationError(
                f"`{path}` has unknown keys {unknown}; allowed: type, values, exclude_values,"
                " exists, from, to, groups"
            )
        kind = element.get("type")
        if kind not in FORM_TYPES:
            raise ValidationError(f"`{path}.type` must be pre_chat or post_chat; got `{kind}`")
        answers = {k: v for k, v in element.items() if k in MODES}
        if answers:
            answers = _check_mode_spec(path, answers, str, MODES)
            for value in answers.get("values", answers.get("exclude_values", [])):
                if not ANSWER_ID.match(value):
                    raise ValidationError(
                        f"`{path}` answer ids look like <field_id>:<answer_id>,"
                        f" e.g. 163654772984903574:0; got `{value}`"
                    )
        if not answers and not ({"from", "to", "groups"} & set(element)):
            raise ValidationError(
                f"`{path}` tests nothing: give values, exclude_values, exists, from/to or groups"
            )
        groups = None
        if "groups" in element:
            groups = _check_mode_spec(f"{path}.groups", element["groups"], int)
        window = _time_pair(element, path)
        if window is not None:
            if pair is None:
                pair = TimePair("forms", *window, form_type=kind)
            elif (pair.start, pair.end) != window:
                raise ValidationError(
                    f"`{path}.from/to` differ from an earlier form's; a report has one time range,"
                    f" so every `filters.{name}[]` that sets from/to must set the same"
                )
        checked.append(element)
        tests.append(_form_test(kind, answers, groups, window))
    return checked, pair, tests


def _form_test(
    kind: str,
    answers: Mapping[str, Any],
    groups: Mapping[str, Any] | None,
    window: tuple[int, int] | None,
) -> ChatTest:
    needs_form = bool(groups or window or answers.get("exists") or "values" in answers)

    def test(chat: Chat, now: int) -> bool:
        sent = chat.form_submitted_at(kind)
        if sent is None:
            return not needs_form and (not answers or matches(answers, ()))
        if window is not None and not window[0] <= sent <= window[1]:
            return False
        if groups is not None and not matches(groups, (chat.group_id,)):
            return False
        if "exists" in answers:
            return bool(answers["exists"])
        if not answers:
            return True
        given = {
            f"{field_id}:{answer}"
            for form_id, field_id, answer in chat.form_answers
            if FORMS_BY_ID[form_id].kind == kind
        }
        return matches(answers, given)

    return test


@dataclass
class _Parsed:
    """What `parse_filters` gathers while it reads one filter after another."""

    pairs: list[TimePair] = field(default_factory=list)
    spec: dict[str, Any] = field(default_factory=dict)
    chat_tests: list[ChatTest] = field(default_factory=list)
    greeting_tests: list[Callable[[GreetingEvent], bool]] = field(default_factory=list)
    agent_tests: list[Callable[[str], bool]] = field(default_factory=list)


def parse_filters(raw: Any, accepts: Accepts) -> Filters:
    """Validate a request's `filters` against what one report accepts.

    Args:
        raw: The `filters` object of the request (JSON body or decoded query string).
        accepts: What the report accepts.

    Returns:
        The validated filters with their time pair and tests.

    Raises:
        ValidationError: With a message that says what is wrong.
    """
    if not isinstance(raw, dict):
        raise ValidationError("`filters` must be an object")
    parsed = _Parsed()
    top = _time_pair(raw, "filters")
    if top:
        parsed.pairs.append(TimePair("filters", *top))
    if "forms" in raw and "surveys" in raw:
        raise ValidationError("give `filters.forms` or `filters.surveys` (its v3.4 name), not both")
    for name, value in raw.items():
        if name in ("from", "to"):
            continue
        if name not in accepts.filters:
            accepted = ", ".join(("from", "to", *accepts.filters))
            raise ValidationError(
                f"filter `{name}` is not accepted by this report; accepted filters: {accepted}"
            )
        _parse_one(name, value, accepts, parsed)
    if len(parsed.pairs) > 1:
        kinds = " and ".join(PAIR_NAMES[p.kind] for p in parsed.pairs)
        raise ValidationError(
            f"filters must contain exactly one pair of time-based filters; got {kinds}"
        )
    return Filters(
        spec=parsed.spec,
        pair=parsed.pairs[0] if parsed.pairs else None,
        chat_tests=tuple(parsed.chat_tests),
        greeting_tests=tuple(parsed.greeting_tests),
        agent_tests=tuple(parsed.agent_tests),
    )


def _parse_one(name: str, value: Any, accepts: Accepts, parsed: _Parsed) -> None:
    """Validate one accepted filter and add its spec, time pair and tests to `parsed`."""
    modes = accepts.filters[name]
    spec = parsed.spec
    if name == "greetings":
        checked, window, tests, displays = _greetings(value, modes)
        if window:
            parsed.pairs.append(TimePair("greetings", *window))
        rest = {k: v for k, v in checked.items() if k not in ("from", "to")}
        if rest:
            spec[name] = rest
        parsed.chat_tests.extend(tests)
        parsed.greeting_tests.extend(displays)
    elif name == "properties":
        spec[name], tests = _properties(value)
        parsed.chat_tests.extend(tests)
    elif name == "agent_response":
        spec[name], tests = _agent_response(value, modes)
        parsed.chat_tests.extend(tests)
    elif name in ("forms", "surveys"):
        spec[name], pair, tests = _forms(name, value)
        if pair:
            parsed.pairs.append(pair)
        parsed.chat_tests.extend(tests)
    elif name == "event_types":
        event_modes = [m for m in modes if m != "exists"]
        spec[name] = _check_mode_spec(
            "filters.event_types", value, str, event_modes, allowed_values=EVENT_TYPES
        )
        parsed.chat_tests.append(_chat_test(spec[name], name))
    else:
        item_type = int if name in INT_FILTERS else str
        checked = _check_mode_spec(f"filters.{name}", value, item_type, modes)
        spec[name] = checked
        if accepts.target == "chats":
            parsed.chat_tests.append(_chat_test(checked, name))
        elif accepts.target == "greetings":
            parsed.greeting_tests.append(_test(checked, GREETING_VALUES[name]))
        else:
            parsed.agent_tests.append(_test(checked, AGENT_VALUES[name]))
