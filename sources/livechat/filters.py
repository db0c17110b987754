"""Pure validation of user filters against the documented grammar (Reports API v3.6).

The pipeline owns the time range, so `from`/`to` are refused; everything else is checked here,
before any request, and then sent as given in `filters` of each report that accepts it.

What each report accepts is in the registry (`ReportSpec.filters`): the chats reports take every
filter, the agents reports `agents` (values, exclude_values, require_every_value) and
`groups.values`, `tags/chat_usage` only `groups.values`, `chats/greetings_conversion` (which
counts greeting displays) `groups` and `greetings`, and the customer reports (unique and queued
visitors) none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .exceptions import ConfigurationError

STRING_FILTERS = ("agents", "tags", "customer_countries")
INT_FILTERS = ("groups", "sales", "goals")
MODES = ("values", "exclude_values", "exists")
ALL_MODES = (*MODES, "require_every_value")
# The Agent Chat API's event types: what `filters.event_types` selects chats by.
EVENT_TYPES = (
    "message",
    "system_message",
    "file",
    "form",
    "filled_form",
    "rich_message",
    "custom",
)
FORM_FILTERS = ("forms", "surveys")  # `surveys` is the v3.4 name of `forms`
ALL_FILTERS = (
    *STRING_FILTERS,
    *INT_FILTERS,
    "event_types",
    "properties",
    "agent_response",
    "greetings",
    *FORM_FILTERS,
)

Accepted = Mapping[str, tuple[str, ...]]
"""Filter name -> the modes a report takes for it (composite filters: for their parts)."""

CHAT_FILTERS: Accepted = {name: ALL_MODES for name in ALL_FILTERS}
AGENT_FILTERS: Accepted = {
    "agents": ("values", "exclude_values", "require_every_value"),
    "groups": ("values",),
}
CHAT_USAGE_FILTERS: Accepted = {"groups": ("values",)}
GREETING_FILTERS: Accepted = {"groups": ALL_MODES, "greetings": ALL_MODES}
NO_FILTERS: Accepted = {}


def _fail(path: str, problem: str) -> ConfigurationError:
    return ConfigurationError(
        f"Filter `{path}` {problem}. See the `filters` section of the README."
    )


def _check_list(path: str, values: Any, item: type, allowed: tuple[Any, ...] = ()) -> None:
    if not isinstance(values, list) or not values:
        raise _fail(path, f"must be a non-empty list; got `{values!r}`")
    for value in values:
        if item is not object and (isinstance(value, bool) or not isinstance(value, item)):
            raise _fail(path, f"must hold {item.__name__} values; got `{value!r}`")
        if allowed and value not in allowed:
            raise _fail(path, f"has an unknown value `{value}`; valid: {', '.join(allowed)}")


def _check_modes(
    path: str,
    spec: Any,
    item: type,
    modes: tuple[str, ...] = MODES,
    allowed: tuple[Any, ...] = (),
) -> None:
    if not isinstance(spec, Mapping):
        raise _fail(path, f'must be an object like {{"values": [...]}}; got `{spec!r}`')
    keys = (*modes, "require_every_value")
    unknown = sorted(set(spec) - set(keys))
    if unknown:
        raise _fail(path, f"has unknown keys {unknown}; allowed: {', '.join(keys)}")
    given = [m for m in modes if m in spec]
    if len(given) != 1:
        raise _fail(path, f"must use exactly one of {', '.join(modes)}; got {given or 'none'}")
    if given[0] == "exists":
        if not isinstance(spec["exists"], bool):
            raise _fail(f"{path}.exists", f"must be true or false; got `{spec['exists']!r}`")
    else:
        _check_list(f"{path}.{given[0]}", spec[given[0]], item, allowed)
    if "require_every_value" in spec and (
        given[0] == "exists" or not isinstance(spec["require_every_value"], bool)
    ):
        raise _fail(
            f"{path}.require_every_value",
            "is true or false and goes with `values` or `exclude_values`",
        )


def _check_properties(spec: Any) -> None:
    if not isinstance(spec, Mapping) or not spec:
        raise _fail("properties", "must be an object of namespaces, each an object of properties")
    for namespace, props in spec.items():
        if not isinstance(props, Mapping) or not props:
            raise _fail(f"properties.{namespace}", "must be an object of properties")
        for name, prop in props.items():
            _check_modes(f"properties.{namespace}.{name}", prop, object)


def _check_agent_response(spec: Any) -> None:
    if not isinstance(spec, Mapping) or not spec:
        raise _fail(
            "agent_response",
            f"must be an object with exists, first, agents or groups; got `{spec!r}`",
        )
    unknown = sorted(set(spec) - {"exists", "first", "agents", "groups"})
    if unknown:
        raise _fail("agent_response", f"has unknown keys {unknown}")
    for flag in ("exists", "first"):
        if flag in spec and not isinstance(spec[flag], bool):
            raise _fail(f"agent_response.{flag}", "must be true or false")
    for key, item in (("agents", str), ("groups", int)):
        if key not in spec:
            continue
        if spec.get("first") is not True:
            # Documented: they test the first response and work only with `first = true`.
            raise _fail(
                f"agent_response.{key}",
                "works only together with `agent_response.first = true` (it tests who sent the"
                " first response)",
            )
        _check_modes(f"agent_response.{key}", spec[key], item)


def _check_greetings(spec: Any) -> None:
    if not isinstance(spec, Mapping) or not spec:
        raise _fail("greetings", f"must be an object of greeting ids and/or groups; got `{spec!r}`")
    if "from" in spec or "to" in spec:
        raise _fail("greetings", "must not set from/to: the pipeline owns the time range")
    unknown = sorted(set(spec) - {"groups", *ALL_MODES})
    if unknown:
        raise _fail(
            "greetings", f"has unknown keys {unknown}; allowed: groups, {', '.join(ALL_MODES)}"
        )
    ids = {k: v for k, v in spec.items() if k in ALL_MODES}
    if ids:
        _check_modes("greetings", ids, int)
    if "groups" in spec:
        _check_modes("greetings.groups", spec["groups"], int)


def _check_forms(name: str, spec: Any) -> None:
    if not isinstance(spec, list) or not spec:
        raise _fail(name, "must be a non-empty list of form filters")
    for i, form in enumerate(spec):
        path = f"{name}[{i}]"
        if not isinstance(form, Mapping) or form.get("type") not in ("pre_chat", "post_chat"):
            raise _fail(f"{path}.type", "must be `pre_chat` or `post_chat`")
        if "from" in form or "to" in form:
            raise _fail(path, "must not set from/to: the pipeline owns the time range")
        unknown = sorted(set(form) - {"type", "groups", *MODES})
        if unknown:
            raise _fail(
                path, f"has unknown keys {unknown}; allowed: type, groups, {', '.join(MODES)}"
            )
        answers = {k: v for k, v in form.items() if k in MODES}
        if not answers and "groups" not in form:
            raise _fail(path, "tests nothing: give values, exclude_values, exists or groups")
        if answers:
            _check_modes(path, answers, str)
        if "groups" in form:
            _check_modes(f"{path}.groups", form["groups"], int)


def validate_filters(filters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check user filters against the documented grammar.

    Args:
        filters: The `filters` object from config, without `from`/`to`.

    Returns:
        A copy of the filters, ready to merge into each request's `filters`.

    Raises:
        ConfigurationError: Naming the filter, what is wrong and how to fix it.
    """
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise ConfigurationError(f"`filters` must be an object (a TOML table); got `{filters!r}`")
    if all(name in filters for name in FORM_FILTERS):
        raise _fail("surveys", "is the v3.4 name of `forms`; give one of them, not both")
    for name, spec in filters.items():
        if name in ("from", "to"):
            raise _fail(
                name, "is not allowed: the pipeline sets the time range from its day windows"
            )
        if name in STRING_FILTERS:
            _check_modes(name, spec, str)
        elif name in INT_FILTERS:
            _check_modes(name, spec, int)
        elif name == "event_types":
            _check_modes(name, spec, str, ("values", "exclude_values"), EVENT_TYPES)
        elif name == "properties":
            _check_properties(spec)
        elif name == "agent_response":
            _check_agent_response(spec)
        elif name == "greetings":
            _check_greetings(spec)
        elif name in FORM_FILTERS:
            _check_forms(name, spec)
        else:
            raise _fail(
                name, f"is not a Reports API filter; valid filters: {', '.join(ALL_FILTERS)}"
            )
    return dict(filters)


def _modes_used(name: str, spec: Any) -> set[str]:
    """The modes a validated filter uses, where a report may take only some of them."""
    if name in (*STRING_FILTERS, *INT_FILTERS, "event_types"):
        return set(spec)
    if name == "greetings":
        return {k for k in spec if k in ALL_MODES} | set(spec.get("groups", {}))
    return set()


def validate_accepted(filters: Mapping[str, Any], accepted: Mapping[str, Accepted]) -> None:
    """Refuse filters that a selected report does not accept, or not in the mode given.

    Args:
        filters: Validated user filters.
        accepted: For each selected report, the filters it accepts and their modes.

    Raises:
        ConfigurationError: Listing the filters and the reports that refuse them.
    """
    refused: dict[str, list[str]] = {}
    for report, names in accepted.items():
        for name, spec in sorted(filters.items()):
            if name not in names:
                refused.setdefault(f"`{name}`", []).append(report)
                continue
            modes = sorted(_modes_used(name, spec) - set(names[name]))
            if modes:
                label = f"`{name}` with {', '.join(modes)} (takes {', '.join(names[name])})"
                refused.setdefault(label, []).append(report)
    if refused:
        details = "; ".join(f"{n} by {', '.join(r)}" for n, r in sorted(refused.items()))
        raise ConfigurationError(
            f"Some selected reports do not accept these filters: {details}. Remove the filter,"
            " or leave those reports out with `reports` / --reports."
        )
