"""The partitions of the report assets: one per shard, `shard_0` ... `shard_<n-1>`."""

from __future__ import annotations

import re

from dagster import StaticPartitionsDefinition

PREFIX = "shard_"
_KEY = re.compile(rf"{PREFIX}(0|[1-9][0-9]*)")


def shard_key(shard: int) -> str:
    """Return the partition key of shard `shard`: `shard_<k>`."""
    return f"{PREFIX}{shard}"


def shard_of_key(key: str) -> int:
    """Return the shard a partition key names.

    Raises:
        ValueError: When the key is not `shard_<k>`.
    """
    found = _KEY.fullmatch(key)
    if found is None:
        raise ValueError(f"Partition `{key}` is not a shard; shard partitions are `shard_<k>`.")
    return int(found.group(1))


def shard_partitions(shards: int) -> StaticPartitionsDefinition:
    """Return one partition per shard, in shard order.

    Args:
        shards: How many shards the accounts are spread over (`shards` in [sources.livechat]).
    """
    if shards < 1:
        raise ValueError(f"There must be at least one shard; got {shards}.")
    return StaticPartitionsDefinition([shard_key(k) for k in range(shards)])
