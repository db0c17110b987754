"""The instant a command takes as now: the real clock, or a rehearsed one for the emulator.

`LIVECHAT_REPORTS_NOW` (an ISO-8601 instant with a UTC offset) makes the command run "as of"
that instant: the days it calls today and the times it records for its requests follow it, so
a schedule can be rehearsed against the emulator's `--now`. The source refuses it unless the
base URL is on loopback (see `sources.livechat.client.validate_rehearsal`).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping

from sources.livechat.exceptions import ConfigurationError
from sources.livechat.options import LoadOptions

NOW_VARIABLE = "LIVECHAT_REPORTS_NOW"


def rehearsed_now(environ: Mapping[str, str] | None = None) -> dt.datetime | None:
    """Return the instant `LIVECHAT_REPORTS_NOW` names, or None when it is unset or empty.

    Raises:
        ConfigurationError: When the value is not an ISO-8601 instant with a UTC offset.
    """
    text = (os.environ if environ is None else environ).get(NOW_VARIABLE, "").strip()
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.utcoffset() is None:
        raise ConfigurationError(
            f"{NOW_VARIABLE} `{text}` is not an ISO-8601 instant with a UTC offset; write it"
            " like 2026-11-08T06:15:00+00:00, or unset it to use the real clock"
        )
    return value


def with_rehearsed_now(options: LoadOptions) -> LoadOptions:
    """Return the options with `now` from `LIVECHAT_REPORTS_NOW` when it is set (and not given).

    Raises:
        ConfigurationError: When the variable is not an ISO-8601 instant with a UTC offset.
    """
    now = rehearsed_now()
    return options.replace(now=now) if now is not None and options.now is None else options
