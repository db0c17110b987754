"""A local LiveChat Reports API v3.6 over a deterministic synthetic license: the test oracle."""

from .accounts import Accounts
from .app import ReportsAPI
from .reports import REPORTS, wilson_score
from .server import Emulator, Switches, parse_faults, running_emulator

__all__ = [
    "REPORTS",
    "Accounts",
    "Emulator",
    "ReportsAPI",
    "Switches",
    "parse_faults",
    "running_emulator",
    "wilson_score",
]
