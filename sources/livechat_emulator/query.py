"""Parse and validate a report request (POST JSON body or GET query string) into a `Query`."""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .filters import INT_FILTERS, Accepts, Filters, ValidationError, parse_filters, parse_rfc3339
from .license import PROPERTY_TYPES

__all__ = ["Query", "ValidationError", "parse_query", "parse_query_string", "parse_rfc3339"]

CHATS_DISTRIBUTIONS = ("hour", "day", "day-hours", "month", "year")
AGENTS_DISTRIBUTIONS = ("hour", "day")
# Where a GET query string's values are integers: filters.<name>.values and the like.
INT_VALUE_PATHS = (
    *(("filters", name) for name in INT_FILTERS),
    ("filters", "greetings"),
    ("filters", "greetings", "groups"),
    ("filters", "agent_response", "groups"),
    ("filters", "forms", "*", "groups"),
    ("filters", "surveys", "*", "groups"),
)
BOOLEAN_KEYS = ("exists", "require_every_value", "first")


@dataclass(frozen=True)
class Query:
    """A validated report request.

    Attributes:
        start: First instant of the range, epoch seconds, inclusive.
        end: Last instant of the range, epoch seconds, inclusive.
        timezone: The IANA zone buckets are cut in.
        distribution: The bucket size.
        filters: The validated filters and the tests they make.
        page: Page number for paged reports (1-based).
    """

    start: int
    end: int
    timezone: str
    distribution: str
    filters: Filters = field(default_factory=Filters)
    page: int = 1

    @property
    def time_key(self) -> str:
        """Where the time pair was given: `filters`, `greetings` or `forms`."""
        return self.filters.pair.kind if self.filters.pair else "filters"

    @property
    def zone(self) -> ZoneInfo:
        """The timezone as a `ZoneInfo`."""
        return ZoneInfo(self.timezone)

    def local(self, instant: int) -> dt.datetime:
        """Return an epoch second as a datetime in the query's timezone."""
        return dt.datetime.fromtimestamp(instant, self.zone)

    def echo(self) -> dict[str, Any]:
        """Return the `request` object real responses carry, with from/to in the report timezone."""
        filters: dict[str, Any] = copy.deepcopy(dict(self.filters.spec))
        for name in ("forms", "surveys"):
            for element in filters.get(name, []):
                for bound in ("from", "to"):
                    if bound in element:
                        instant = parse_rfc3339(element[bound], bound).timestamp()
                        element[bound] = self.local(int(instant)).isoformat()
        bounds = {
            "from": self.local(self.start).isoformat(),
            "to": self.local(self.end).isoformat(),
        }
        if self.time_key == "greetings":
            filters["greetings"] = {**filters.get("greetings", {}), **bounds}
        elif self.time_key == "filters":
            filters.update(bounds)
        return {"distribution": self.distribution, "timezone": self.timezone, "filters": filters}


def parse_query_string(query: str) -> dict[str, Any]:
    """Decode the documented GET encoding into the same shape as a JSON body.

    Dotted paths (`filters.agents.values=a`), repeated keys for arrays and square brackets for
    property namespaces (`filters.properties[routing][continuous].values=true`). LiveChat shows
    no array of objects in a query string; the emulator takes `filters.forms[0].type=pre_chat`.
    Values get the type the JSON body would have: integers for group, goal, sales and greeting
    ids, booleans for exists / require_every_value / first (`true`, `false`, `1`, `0`), and the
    property's own type for `filters.properties` values.

    Raises:
        ValidationError: When a value does not have its type, or a single value is repeated.
    """
    texts: dict[tuple[str, ...], list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        parts = tuple(p for p in re.split(r"[.\[\]]+", key) if p)
        if parts:
            texts.setdefault(parts, []).append(value)
    body: dict[str, Any] = {}
    for parts, values in texts.items():
        node = body
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValidationError(
                    f"query parameter `{'.'.join(parts)}` conflicts with another parameter"
                )
        if isinstance(node.get(parts[-1]), dict):
            raise ValidationError(
                f"query parameter `{'.'.join(parts)}` conflicts with another parameter"
            )
        node[parts[-1]] = _decode(parts, values)
    filters = body.get("filters")
    if isinstance(filters, dict):
        for name in ("forms", "surveys"):
            if isinstance(filters.get(name), dict):
                filters[name] = _as_list(f"filters.{name}", filters[name])
    return body


def _as_list(path: str, indexed: dict[str, Any]) -> list[Any]:
    if not all(k.isdigit() for k in indexed):
        raise ValidationError(f"`{path}` is an array: give its items as {path}[0].type=...")
    return [indexed[k] for k in sorted(indexed, key=int)]


def _decode(parts: tuple[str, ...], texts: list[str]) -> Any:
    name, leaf = ".".join(parts), parts[-1]
    if leaf in ("values", "exclude_values"):
        item_type = _value_type(parts[:-1])
        return [_typed(text, item_type, name) for text in texts]
    if len(texts) > 1:
        raise ValidationError(f"query parameter `{name}` is given {len(texts)} times; give it once")
    if leaf in BOOLEAN_KEYS:
        return _typed(texts[0], bool, name)
    if parts == ("page",):
        try:
            return int(texts[0])
        except ValueError as e:
            raise ValidationError(f"`page` must be a positive integer; got `{texts[0]}`") from e
    return texts[0]


def _value_type(holder: tuple[str, ...]) -> type:
    if len(holder) == 4 and holder[:2] == ("filters", "properties"):
        return PROPERTY_TYPES.get((holder[2], holder[3]), str)
    generic = tuple("*" if p.isdigit() else p for p in holder)
    return int if generic in INT_VALUE_PATHS else str


def _typed(text: str, item_type: type, name: str) -> Any:
    if item_type is bool:
        if text.lower() in ("true", "1"):
            return True
        if text.lower() in ("false", "0"):
            return False
        raise ValidationError(f"`{name}` must be true or false; got `{text}`")
    if item_type is int:
        try:
            return int(text)
        except ValueError as e:
            raise ValidationError(f"`{name}` must be integers; got `{text}`") from e
    return text


def parse_query(
    params: Mapping[str, Any],
    *,
    distributions: Sequence[str],
    accepts: Accepts,
    now: int,
    default_timezone: str,
) -> Query:
    """Validate request parameters against one report's rules.

    Args:
        params: The JSON body, or the decoded query string.
        distributions: Distributions the report accepts.
        accepts: The filters the report accepts.
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

    parsed = parse_filters(params.get("filters", {}), accepts)
    if parsed.pair:
        start, end = parsed.pair.start, parsed.pair.end
    else:
        # The real API spans the last seven days when no range is given.
        zone = ZoneInfo(tz_name)
        today = dt.datetime.fromtimestamp(now, zone).date()
        first = today - dt.timedelta(days=6)
        start = int(dt.datetime(first.year, first.month, first.day, tzinfo=zone).timestamp())
        end = now
    return Query(start, end, tz_name, distribution, parsed, page)
