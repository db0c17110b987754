"""Pure validation of user filters against the documented grammar (Reports API v3.6).

The pipeline owns the time range, so `from`/`to` are refused; everything else is checked here,
before any request, and then sent as given in `filters` of each report that accepts it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .exceptions import ConfigurationError

STRING_FILTERS = ("agents", "tags", "customer_countries")
INT_FILTERS = ("groups", "sales", "goals")
MODES = ("values", "exclude_values", "exists")
ALL_FILTERS = (
    *STRING_FILTERS,
    *INT_FILTERS,
    "event_types",
    "properties",
    "agent_response",
    "forms",
)


def _fail(path: str, problem: str) -> ConfigurationError:
    return ConfigurationError(
        f"Filter `{path}` {problem}. See the `filters` section of the README."
    )


def _check_list(path: str, values: Any, item: type) -> None:
    if not isinstance(values, list) or not values:
        raise _fail(path, f"must be a non-empty list; got `{values!r}`")
    for value in values:
        if item is not object and (isinstance(value, bool) or not isinstance(value, item)):
            raise _fail(path, f"must hold {item.__name__} values; got `{value!r}`")


def _check_modes(path: str, spec: Any, item: type, modes: tuple[str, ...] = MODES) -> None:
    if not isinstance(spec, Mapping):
        raise _fail(path, f'must be an object like {{"values": [...]}}; got `{spec!r}`')
    allowed = (*modes, "require_every_value")
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise _fail(path, f"has unknown keys {unknown}; allowed: {', '.join(allowed)}")
    given = [m for m in modes if m in spec]
    if len(given) != 1:
        raise _fail(path, f"must use exactly one of {', '.join(modes)}; got {given or 'none'}")
    if given[0] == "exists":
        if not isinstance(spec["exists"], bool):
            raise _fail(f"{path}.exists", f"must be true or false; got `{spec['exists']!r}`")
    else:
        _check_list(f"{path}.{given[0]}", spec[given[0]], item)
    if "require_every_value" in spec and (
        given[0] != "values" or not isinstance(spec["require_every_value"], bool)
    ):
        raise _fail(f"{path}.require_every_value", "is true or false and goes with `values` only")


def _check_properties(spec: Any) -> None:
    if not isinstance(spec, Mapping) or not spec:
        raise _fail("properties", "must be an object of namespaces, each an object of properties")
    for namespace, props in spec.items():
        if not isinstance(props, Mapping) or not props:
            raise _fail(f"properties.{namespace}", "must be an object of properties")
        for name, prop in props.items():
            _check_modes(f"properties.{namespace}.{name}", prop, object)


def _check_agent_response(spec: Any) -> None:
    if not isinstance(spec, Mapping):
        raise _fail("agent_response", f"must be an object; got `{spec!r}`")
    unknown = sorted(set(spec) - {"exists", "first", "agents", "groups"})
    if unknown:
        raise _fail("agent_response", f"has unknown keys {unknown}")
    for flag in ("exists", "first"):
        if flag in spec and not isinstance(spec[flag], bool):
            raise _fail(f"agent_response.{flag}", "must be true or false")
    if "agents" in spec:
        _check_modes("agent_response.agents", spec["agents"], str)
    if "groups" in spec:
        _check_modes("agent_response.groups", spec["groups"], int)


def _check_forms(spec: Any) -> None:
    if not isinstance(spec, list) or not spec:
        raise _fail("forms", "must be a non-empty list of form filters")
    for i, form in enumerate(spec):
        path = f"forms[{i}]"
        if not isinstance(form, Mapping) or form.get("type") not in ("pre_chat", "post_chat"):
            raise _fail(f"{path}.type", "must be `pre_chat` or `post_chat`")
        if "from" in form or "to" in form:
            raise _fail(path, "must not set from/to: the pipeline owns the time range")
        rest = {k: v for k, v in form.items() if k in MODES}
        if rest:
            _check_modes(path, rest, str)
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
            _check_modes(name, spec, str, ("values", "exclude_values"))
        elif name == "properties":
            _check_properties(spec)
        elif name == "agent_response":
            _check_agent_response(spec)
        elif name == "forms":
            _check_forms(spec)
        else:
            raise _fail(
                name, f"is not a Reports API filter; valid filters: {', '.join(ALL_FILTERS)}"
            )
    return dict(filters)


def check_accepted(filters: Mapping[str, Any], accepted: Mapping[str, Iterable[str]]) -> None:
    """Refuse filters that a selected report does not accept.

    Args:
        filters: Validated user filters.
        accepted: For each selected report, the filters it accepts.

    Raises:
        ConfigurationError: Listing the filters and the reports that refuse them.
    """
    refused: dict[str, list[str]] = {}
    for report, names in accepted.items():
        for name in sorted(set(filters) - set(names)):
            refused.setdefault(name, []).append(report)
    if refused:
        details = "; ".join(f"`{n}` by {', '.join(r)}" for n, r in sorted(refused.items()))
        raise ConfigurationError(
            f"Some selected reports do not accept these filters: {details}. Remove the filter,"
            " or leave those reports out with `reports` / --reports."
        )
