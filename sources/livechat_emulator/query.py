"""Parse and validate a report request (POST JSON body or GET query string) into a `Query`."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|z|[+-]\d{2}:\d{2})$",
)
CHATS_DISTRIBUTIONS = ("hour", "day", "day-hours", "month", "year")
AGENTS_DISTRIBUTIONS = ("hour", "day")
STRING_FILTERS = ("agents", "tags", "customer_countries")
INT_FILTERS = ("groups",)
FILTER_MODES = ("values", "exclude_values", "exists")


class ValidationError(Exception):
    """The request is invalid; answered with 422 and `error.type` = `validation`."""


@dataclass(frozen=True)
class Query:
    """A validated report request.

    Attributes:
        start: First instant of the range, epoch seconds, inclusive.
        end: Last instant of the range, epoch seconds, inclusive.
        timezone: The IANA zone buckets are cut in.
        distribution: The bucket size.
        filters: Validated dimension filters, keyed like the API's (`agents`, `groups`, ...).
        page: Page number for paged reports (1-based).
        time_key: Where the time pair was given: `filters` or `filters.greetings`.
    """

    start: int
    end: int
    timezone: str
    distribution: str
    filters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    page: int = 1
    time_key: str = "filters"

    @property
    def zone(self) -> ZoneInfo:
        """The timezone as a `ZoneInfo`."""
        return ZoneInfo(self.timezone)

    def local(self, instant: int) -> dt.datetime:
        """Return an epoch second as a datetime in the query's timezone."""
        return dt.datetime.fromtimestamp(instant, self.zone)

    def echo(self) -> dict[str, Any]:
        """Return the `request` object real responses carry, with from/to in the report timezone."""
        bounds = {
            "from": self.local(self.start).isoformat(),
            "to": self.local(self.end).isoformat(),
        }
        filters: dict[str, Any] = {k: dict(v) for k, v in self.filters.items()}
        if self.time_key == "greetings":
            filters["greetings"] = {**filters.get("greetings", {}), **bounds}
        else:
            filters.update(bounds)
        return {"distribution": self.distribution, "timezone": self.timezone, "filters": filters}


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


def parse_query_string(query: str) -> dict[str, Any]:
    """Decode the documented GET encoding into the same shape as a JSON body.

    Dotted paths (`filters.agents.values=a`), repeated keys for arrays and square brackets for
    property namespaces (`filters.properties[routing][continuous].values=true`).
    """
    body: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        parts = [p for p in re.split(r"[.\[\]]+", key) if p]
        node = body
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValidationError(f"query parameter `{key}` conflicts with another parameter")
        leaf = parts[-1]
        if leaf in ("values", "exclude_values"):
            node.setdefault(leaf, []).append(value)
        elif leaf in ("exists", "require_every_value"):
            node[leaf] = value.lower() in ("true", "1")
        else:
            node[leaf] = value
    # typed values come as text in a query string
    for name in INT_FILTERS:
        spec = body.get("filters", {}).get(name)
        if isinstance(spec, dict):
            for mode in ("values", "exclude_values"):
                if mode in spec:
                    try:
                        spec[mode] = [int(v) for v in spec[mode]]
                    except ValueError as e:
                        raise ValidationError(f"`filters.{name}.{mode}` must be integers") from e
    if "page" in body:
        try:
            body["page"] = int(body["page"])
        except ValueError as e:
            raise ValidationError(f"`page` must be a positive integer; got `{body['page']}`") from e
    return body


def _validate_dimension_filter(name: str, spec: Any, item_type: type) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise ValidationError(f"`filters.{name}` must be an object")
    allowed = (*FILTER_MODES, "require_every_value")
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise ValidationError(
            f"`filters.{name}` has unknown keys {unknown}; allowed: {', '.join(allowed)}"
        )
    modes = [m for m in FILTER_MODES if m in spec]
    if len(modes) != 1:
        raise ValidationError(
            f"`filters.{name}` must have exactly one of exists, values or exclude_values;"
            f" got {modes or 'none'}"
        )
    mode = modes[0]
    if mode == "exists":
        if not isinstance(spec["exists"], bool):
            raise ValidationError(f"`filters.{name}.exists` must be a boolean")
    else:
        values = spec[mode]
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, item_type) and not isinstance(v, bool) for v in values)
        ):
            raise ValidationError(
                f"`filters.{name}.{mode}` must be a non-empty array of {item_type.__name__}"
            )
    if "require_every_value" in spec and (
        mode != "values" or not isinstance(spec["require_every_value"], bool)
    ):
        raise ValidationError(
            f"`filters.{name}.require_every_value` is a boolean that goes with `values` only"
        )
    return dict(spec)


def _time_pair(holder: Mapping[str, Any], prefix: str) -> tuple[dt.datetime, dt.datetime] | None:
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
    return start, end


def parse_query(
    params: Mapping[str, Any],
    *,
    distributions: Sequence[str],
    accepted_filters: Sequence[str],
    greetings_time: bool,
    now: int,
    default_timezone: str,
) -> Query:
    """Validate request parameters against one report's rules.

    Args:
        params: The JSON body, or the decoded query string.
        distributions: Distributions the report accepts.
        accepted_filters: Dimension filters the report accepts.
        greetings_time: Whether the time pair may come as `filters.greetings.from/to`.
        now: The emulator's clock, epoch seconds (the default range ends here).
        default_timezone: The license timezone, used when the request names none.

    Returns:
        The validated query.

    Raises:
        ValidationError: With a message that says what is wrong.
    """
    unknown = sorted(set(params) - {"distribution", "timezone", "filters", "page"})
    if unknown:
        raise ValidationError(f"unknown request parameters {unknown}")
    distribution = params.get("distribution", "day")
    if distribution not in distributions:
        raise ValidationError(
            f"`distribution` must be one of {', '.join(distributions)}; got `{distribution}`"
        )
    tz_name = params.get("timezone", default_timezone)
    try:
        if not isinstance(tz_name, str) or not tz_name:
            raise ZoneInfoNotFoundError(tz_name)
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValidationError(f"`timezone` must be an IANA time zone name; got `{tz_name}`") from e
    page = params.get("page", 1)
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise ValidationError(f"`page` must be a positive integer; got `{page}`")

    raw = params.get("filters", {})
    if not isinstance(raw, dict):
        raise ValidationError("`filters` must be an object")
    filters: dict[str, dict[str, Any]] = {}
    pairs: list[tuple[str, tuple[dt.datetime, dt.datetime]]] = []
    top = _time_pair(raw, "filters")
    if top:
        pairs.append(("filters", top))
    for name, spec in raw.items():
        if name in ("from", "to"):
            continue
        if name == "greetings" and greetings_time:
            if not isinstance(spec, dict):
                raise ValidationError("`filters.greetings` must be an object")
            pair = _time_pair(spec, "filters.greetings")
            if pair:
                pairs.append(("greetings", pair))
            rest = {k: v for k, v in spec.items() if k not in ("from", "to")}
            if set(rest) - {"groups"}:
                raise ValidationError("`filters.greetings` accepts only from, to and groups")
            if "groups" in rest:
                groups = _validate_dimension_filter("greetings.groups", rest["groups"], int)
                filters["greetings"] = {"groups": groups}
            continue
        if name not in accepted_filters:
            accepted = ", ".join(("from", "to", *accepted_filters)) or "none"
            raise ValidationError(
                f"filter `{name}` is not accepted by this report; accepted filters: {accepted}"
            )
        filters[name] = _validate_dimension_filter(name, spec, int if name in INT_FILTERS else str)
    if len(pairs) > 1:
        raise ValidationError(
            "filters must contain exactly one pair of time-based filters;"
            " got both filters.from/to and filters.greetings.from/to"
        )
    if pairs:
        time_key, (start_dt, end_dt) = pairs[0]
        start, end = int(start_dt.timestamp()), int(end_dt.timestamp())
    else:
        # The real API spans the last seven days when no range is given.
        zone = ZoneInfo(tz_name)
        today = dt.datetime.fromtimestamp(now, zone).date()
        first = today - dt.timedelta(days=6)
        start = int(dt.datetime(first.year, first.month, first.day, tzinfo=zone).timestamp())
        end, time_key = now, "filters"
    return Query(start, end, tz_name, distribution, filters, page, time_key)
