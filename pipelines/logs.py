"""Keep dlt's own logging to what a person running the command needs, unless `--debug`."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

# dlt's loader logs every failed or retried job with its traceback (tens of them when a disk
# fills up); the command's closing message says what failed and what is in the destination.
# Found without importing dlt, so commands that do not need it start fast.
_DLT = importlib.util.find_spec("dlt")
_LOADER_DIR = Path(_DLT.origin).resolve().parent / "load" if _DLT and _DLT.origin else None


# What dlt's job pools log when a Ctrl-C stops them.
INTERRUPTED_RECORD = "Exiting runner due to signal"


class QuietDltLogs(logging.Filter):
    """Drop dlt's per-job load records and shorten its other records to one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Return whether to emit the record; trim it to its first line, without a traceback."""
        if _LOADER_DIR and Path(record.pathname).resolve().is_relative_to(_LOADER_DIR):
            return False
        if str(record.msg).startswith(INTERRUPTED_RECORD):
            return False  # the command says what a Ctrl-C left (`errors.interrupted`)
        record.msg = record.getMessage().splitlines()[0] if record.getMessage() else ""
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


def quiet_dlt_logs(quiet: bool, logger_name: str = "dlt") -> None:
    """Install `QuietDltLogs` on dlt's logger (once), or remove it.

    A filter on the logger survives dlt re-creating its handler when a pipeline starts.
    """
    logger = logging.getLogger(logger_name)
    for existing in [f for f in logger.filters if isinstance(f, QuietDltLogs)]:
        logger.removeFilter(existing)
    if quiet:
        logger.addFilter(QuietDltLogs())


SOURCE_LOGGER = "livechat_reports"


class AccountInLogs(logging.Filter):
    """Start each record logged while an account loads with that account's name.

    The source's lines (`chats_total_chats: 2 requests for ...`) say nothing of the account;
    with many accounts loading at once they would be indistinguishable. The source says which
    account a thread (and the requests it runs on the pool) works for: `CURRENT_ACCOUNT`.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Return True; prefix the record when the current context loads an account."""
        from sources.livechat.shard import CURRENT_ACCOUNT

        name = CURRENT_ACCOUNT.get()
        if name is not None:
            record.msg = f"account {name}: {record.getMessage()}"
            record.args = None
        return True


def name_accounts_in_logs() -> None:
    """Name the account in the source's records (install `AccountInLogs`, once)."""
    logger = logging.getLogger(SOURCE_LOGGER)
    if not any(isinstance(f, AccountInLogs) for f in logger.filters):
        logger.addFilter(AccountInLogs())
