"""Shared fixtures: a running emulator with a fixed clock, and helpers to call it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sources.livechat_emulator import Emulator, ReportsAPI

# Byte-exact copies of the request and response bodies LiveChat publishes (see its README).
SAMPLES = Path(__file__).resolve().parent / "fixtures" / "livechat_samples"
# A fixed clock for the tests: Wednesday 2026-11-18 15:30 UTC.
NOW = dt.datetime(2026, 11, 18, 15, 30, tzinfo=dt.timezone.utc)
AUTH = ("demo", "demo-pat")


def load_sample(name: str) -> Any:
    """Return a published sample body (`chats_tags.response`), parsed."""
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """An emulator shared by the read-only tests; its clock is NOW."""
    with Emulator(ReportsAPI(now=NOW.timestamp(), page_size=5)) as emu:
        yield emu


def call(
    emu: Emulator, report: str, body: dict[str, Any] | None = None, **kwargs: Any
) -> requests.Response:
    """POST a report request to the emulator with the demo credentials."""
    kwargs.setdefault("auth", AUTH)
    return requests.post(f"{emu.url}/v3.6/reports/{report}", json=body or {}, timeout=30, **kwargs)


def window(first: str, last: str, tz_offset: str = "+00:00") -> dict[str, str]:
    """Filters for whole days `first`..`last` at a fixed UTC offset."""
    return {"from": f"{first}T00:00:00{tz_offset}", "to": f"{last}T23:59:59{tz_offset}"}
