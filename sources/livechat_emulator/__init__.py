"""A local LiveChat Reports API v3.6 over a deterministic synthetic license: the test oracle."""

from .accounts import Accounts
from .app import ReportsAPI
from .generated import GeneratedAccounts, generated_account
from .reports import REPORTS, wilson_score
from .server import Emulator, Switches, parse_faults, running_emulator

__all__ = [
    "REPORTS",
    "Accounts",
    "Emulator",
    "GeneratedAccounts",
    "ReportsAPI",
    "Switches",
    "generated_account",
    "parse_faults",
    "running_emulator",
    "wilson_score",
]
