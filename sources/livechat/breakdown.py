"""Pure: which reports a run breaks down by group, for which groups, and each request's filters.

A breakdown is a setting of the run applied to registry entries (`ReportSpec.by_group`), never
a copy in the registry. With `breakdowns = ["group"]` every selected report that takes a group
filter (or those `breakdown_reports` names) is also loaded once per group into
`<table>_by_group`. The groups are `breakdown_groups` when given, else those `chats/groups`
finds for the run's days. A user `groups` filter narrows them (a chat belongs to one group, so
a group the filter leaves out would get nothing); a combination that leaves no group at all is
refused before any request.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .exceptions import ConfigurationError
from .reports import REPORTS_BY_NAME, ReportSpec

BREAKDOWNS = ("group",)


def _listed(value: Any) -> Any:
    """A JSON list as an environment variable holds it, or the value as given."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _names(value: Any, setting: str) -> list[str]:
    value = _listed(value)
    if isinstance(value, str):
        return [n.strip() for n in value.split(",") if n.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(n, str) for n in value):
        return [n.strip() for n in value]
    raise ConfigurationError(
        f"`{setting}` must be names separated by commas, or a list of names; got `{value!r}`"
    )


def resolve_breakdowns(value: Any) -> tuple[str, ...]:
    """Validate `breakdowns` (a list, or `group` as text); None or empty is off.

    Raises:
        ConfigurationError: On an unknown breakdown.
    """
    if value is None:
        return ()
    names = _names(value, "breakdowns")
    unknown = [n for n in names if n not in BREAKDOWNS]
    if unknown:
        raise ConfigurationError(
            f"Unknown breakdown `{unknown[0]}`; valid: {', '.join(BREAKDOWNS)}"
            ' (e.g. `breakdowns = ["group"]` or --breakdown group)'
        )
    return tuple(dict.fromkeys(names))


def require_breakdown(breakdowns: Sequence[str], **settings: Any) -> None:
    """Refuse breakdown settings given without the breakdown they set up.

    `breakdown_reports` and `breakdown_groups` only say what the group breakdown loads; without
    `breakdowns = ["group"]` a run would load nothing per group and say nothing about it.

    Raises:
        ConfigurationError: Naming the setting, its value and the two ways to fix it.
    """
    if "group" in breakdowns:
        return
    for name, value in settings.items():
        if value is None:
            continue
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        option = "--" + name.replace("_", "-")
        raise ConfigurationError(
            f"`{name}` ({option}) = `{shown}` does nothing without the group breakdown:"
            f' add --breakdown group (or `breakdowns = ["group"]` where `{name}` is set),'
            f" or remove `{name}`"
        )


def resolve_groups(value: Any) -> tuple[int, ...] | None:
    """Validate `breakdown_groups`: group ids (whole numbers), or None to discover them.

    Raises:
        ConfigurationError: On anything but a non-empty list of group ids.
    """
    if value is None:
        return None
    items: Any = _listed(value)
    if isinstance(items, str) and all(v.strip().isdigit() for v in items.split(",")):
        items = [int(v) for v in items.split(",")]
    if (
        not isinstance(items, (list, tuple))
        or not items
        or not all(isinstance(g, int) and not isinstance(g, bool) and g >= 0 for g in items)
    ):
        raise ConfigurationError(
            f"`breakdown_groups` must be a list of group ids like [0, 2]; got `{value!r}`"
        )
    return tuple(sorted(set(items)))


def group_passes(spec: Mapping[str, Any] | None, group: int) -> bool:
    """Whether chats of `group` can pass a user `groups` filter (a chat is in one group)."""
    if spec is None:
        return True
    if "exists" in spec:
        return bool(spec["exists"])
    every = bool(spec.get("require_every_value"))
    if "values" in spec:
        values = set(spec["values"])
        return group in values and (not every or len(values) == 1)
    excluded = set(spec["exclude_values"])
    return not (group in excluded and (not every or len(excluded) == 1))


def _user_group_filters(spec: ReportSpec, filters: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The user's filters that test a chat's (or display's) group for this report."""
    found = [("groups", filters["groups"])] if "groups" in filters else []
    if spec.group_filter == "greetings.groups" and "groups" in filters.get("greetings", {}):
        found.append(("greetings.groups", filters["greetings"]["groups"]))
    return found


def allows(spec: ReportSpec, filters: Mapping[str, Any], group: int) -> bool:
    """Whether the user's filters leave anything of `group` for a broken-down report."""
    return all(group_passes(f, group) for _, f in _user_group_filters(spec, filters))


def resolve_grouped(
    breakdowns: Sequence[str],
    breakdown_reports: Any,
    breakdown_groups: tuple[int, ...] | None,
    selected: Iterable[ReportSpec],
    filters: Mapping[str, Any],
) -> tuple[ReportSpec, ...]:
    """Return the per-group reports of a run, in registry order; none when the breakdown is off.

    Raises:
        ConfigurationError: On a report that cannot be broken down, or filters that leave no
            group to break down.
    """
    if "group" not in breakdowns:
        return ()
    selected = tuple(selected)
    breakable = [r.name for r in selected if r.group_filter is not None]
    names = set(breakable)
    if breakdown_reports is not None:
        wanted = _names(breakdown_reports, "breakdown_reports")
        for name in wanted:
            if name not in REPORTS_BY_NAME:
                can = ", ".join(r.name for r in REPORTS_BY_NAME.values() if r.group_filter)
                raise ConfigurationError(
                    f"`breakdown_reports` names an unknown report `{name}`; reports that can be"
                    f" broken down: {can}"
                )
            if REPORTS_BY_NAME[name].group_filter is None:
                raise ConfigurationError(
                    f"`breakdown_reports`: {name} cannot be broken down by group (it takes no"
                    " group filter, or is per group already); leave it out"
                )
        names &= set(wanted)
    grouped = tuple(r.by_group() for r in selected if r.name in names)
    for spec in grouped:
        for path, spec_filter in _user_group_filters(spec, filters):
            if _leaves_none(spec_filter, breakdown_groups):
                among = f" of breakdown_groups {list(breakdown_groups)}" if breakdown_groups else ""
                raise ConfigurationError(
                    f"Filter `{path}` = {dict(spec_filter)} leaves no group{among} to break"
                    f" {spec.group} down by (a chat belongs to one group). Change the filter"
                    " or `breakdown_groups`, or turn the group breakdown off."
                )
    return grouped


def _leaves_none(spec: Mapping[str, Any], explicit: tuple[int, ...] | None) -> bool:
    """Whether a user group filter lets no group through (of `explicit`, or of any ids)."""
    if explicit is not None:
        return not any(group_passes(spec, g) for g in explicit)
    if "exists" in spec:
        return not spec["exists"]
    if "values" in spec:
        return not any(group_passes(spec, g) for g in spec["values"])
    return False  # excluding some groups leaves the others


def request_filters(
    spec: ReportSpec, filters: Mapping[str, Any], group: int | None = None
) -> dict[str, Any]:
    """Return a request's filters without the time pair: the user's, the report's own, the group.

    The group replaces the user's filter at the same place (the group passed it already).
    """
    merged: dict[str, Any] = copy.deepcopy(dict(filters))
    merged.update(copy.deepcopy(dict(spec.fixed_filters)))
    if group is not None and spec.group_filter is not None:
        one = {"values": [group]}
        if spec.group_filter == "greetings.groups":
            merged["greetings"] = {**merged.get("greetings", {}), "groups": one}
        else:
            merged[spec.group_filter] = one
    return merged
