"""Time buckets: the record keys of series reports, cut in the request's timezone."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

# Time zone offsets are whole quarter hours, so every local bucket edge falls on one of these.
_QUARTER_HOUR = 900

# Key formats per distribution. LiveChat publishes only the day format (every v3.x sample is keyed
# `YYYY-MM-DD`); the others are this emulator's choice and are documented in the README.
KEY_FORMATS = {
    "day": "%Y-%m-%d",
    "hour": "%Y-%m-%d %H:00:00",
    "day-hours": "%H:00",
    "month": "%Y-%m",
    "year": "%Y",
}


def bucket_key(local: dt.datetime, distribution: str) -> str:
    """Return the record key of a local datetime for a distribution."""
    return local.strftime(KEY_FORMATS[distribution])


@dataclass(frozen=True)
class Bucket:
    """A bucket of a requested range: its key and the instants it covers (end exclusive)."""

    key: str
    start: int
    end: int


@lru_cache(maxsize=256)
def buckets(start: int, end: int, timezone: str, distribution: str) -> tuple[Bucket, ...]:
    """Return the buckets of the inclusive range `start`..`end`, in time order.

    The `day-hours` distribution aggregates by hour of day across the range, so its buckets are
    the 24 hours and carry no instants of their own (start = end = 0). Cached: accounts asking
    for the same range share the answer, which is most of a report's cost otherwise.

    Args:
        start: First instant, epoch seconds.
        end: Last instant, epoch seconds, inclusive.
        timezone: IANA name of the zone buckets are cut in.
        distribution: hour, day, day-hours, month or year.

    Returns:
        One bucket per key. The repeated hour when clocks go back has one key, so it is one
        two-hour bucket.
    """
    if distribution == "day-hours":
        return tuple(Bucket(f"{h:02d}:00", 0, 0) for h in range(24))
    zone = ZoneInfo(timezone)
    result: list[Bucket] = []
    key = bucket_key(dt.datetime.fromtimestamp(start, zone), distribution)
    bucket_start = start
    for instant in _edges(start, end):
        next_key = bucket_key(dt.datetime.fromtimestamp(instant, zone), distribution)
        if next_key != key:
            result.append(Bucket(key, bucket_start, instant))
            key, bucket_start = next_key, instant
    result.append(Bucket(key, bucket_start, end + 1))
    return tuple(result)


def key_in(cut: Sequence[Bucket], starts: Sequence[int], instant: int) -> str | None:
    """Return the key of the bucket of `cut` holding an instant, or None outside them all.

    Args:
        cut: Buckets in time order, each starting where the previous ends (as `buckets` cuts).
        starts: Their `start` instants, in the same order.
        instant: Epoch seconds.
    """
    index = bisect_right(starts, instant) - 1
    if index < 0 or instant >= cut[index].end:
        return None
    return cut[index].key


def _edges(start: int, end: int) -> Iterator[int]:
    instant = (start // _QUARTER_HOUR + 1) * _QUARTER_HOUR
    while instant <= end:
        yield instant
        instant += _QUARTER_HOUR
