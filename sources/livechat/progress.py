"""What the source tells about its progress: requests planned and done, rows yielded.

The source only reports events; showing them (a terminal bar, log lines) is the caller's job,
so the source stays free of terminal code. The default does nothing.
"""

from __future__ import annotations


class Progress:
    """Receives the source's progress events; this base ignores them.

    `request_done` is called from the HTTP client's worker threads, the other methods from the
    thread that runs the resources, so a subclass that keeps counts must lock.
    """

    def planned(self, report: str, requests: int) -> None:
        """`requests` more requests are planned for `report`.

        Called once when a report's resource plans its run, and again when a paged answer says
        there are more pages than the plan assumed.
        """

    def request_done(self, report: str, attempts: int) -> None:
        """One planned request of `report` got its answer after `attempts` tries."""

    def rows(self, table: str, count: int) -> None:
        """`count` real rows were yielded for `table` (never a merge placeholder).

        A table that gets only a placeholder is reported once with `count` 0, so callers know
        the run replaced its days with nothing.
        """


NO_PROGRESS = Progress()
