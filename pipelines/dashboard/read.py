"""Read what the dashboard shows from the marts, in one short read-only visit.

DuckDB files are opened with `read_only=True` and closed before any chart is built, so a
dashboard holds the file no longer than its queries take. Other destinations are read through
the pipeline's SQL client (an ordinary read connection).

Every query names whole views and is the same on DuckDB and PostgreSQL; filtering by account
and picking periods happen in Python (`model.py`), so no user text reaches the SQL.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import string
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The models the page reads (marts, two staging views), with the columns it needs from each.
KPI_COLUMNS = (
    "is_partial_period",
    "total_chats",
    "missed_chats",
    "chats_rated_good",
    "chats_rated_bad",
    "satisfaction_rate",
    "missed_chat_rate",
    "avg_first_response_time_seconds",
    "avg_response_time_seconds",
    "avg_chat_duration_seconds",
    "unique_visitors",
    "available_hours",
    "queued_visitors",
    "left_queue_visitors",
    "queue_abandonment_rate",
)
# The per-group marts: no visitors, queues or availability (the API has no per-group number).
GROUP_COLUMNS = (
    "is_partial_period",
    "total_chats",
    "missed_chats",
    "chats_rated_good",
    "chats_rated_bad",
    "satisfaction_rate",
    "missed_chat_rate",
    "avg_first_response_time_seconds",
)
QUERIES: dict[str, str] = {
    "kpi_daily": (
        "select account_id, report_date, total_chats, missed_chats, is_partial_period"
        " from {kpi_daily}"
    ),
    "kpi_weekly": "select account_id, week_start, " + ", ".join(KPI_COLUMNS) + " from {kpi_weekly}",
    "kpi_monthly": (
        "select account_id, month_start, " + ", ".join(KPI_COLUMNS) + " from {kpi_monthly}"
    ),
    "agents": (
        "select account_id, month_start, agent_id, chats, ranking_score,"
        " avg_first_response_time_seconds, chatting_time_seconds, logged_in_time_seconds,"
        " accepting_chats_time_seconds, not_accepting_chats_time_seconds"
        " from {agent_scorecard_monthly}"
    ),
    "kpi_weekly_by_group": (
        "select account_id, group_id, week_start, "
        + ", ".join(GROUP_COLUMNS)
        + " from {kpi_weekly_by_group}"
    ),
    "kpi_monthly_by_group": (
        "select account_id, group_id, month_start, "
        + ", ".join(GROUP_COLUMNS)
        + " from {kpi_monthly_by_group}"
    ),
    # The chats each average is over, to weigh accounts' averages in the all-accounts view.
    "weights": (
        "select account_id, report_date, first_response_time_chats, response_time_chats,"
        " chat_duration_chats from {int_kpi_daily}"
    ),
    # No mart keeps the queue wait: the report's buckets, weighted by their queued customers.
    "queues": (
        "select account_id, report_date, report_hour, queued_visitors, queued_avg_seconds"
        " from {stg_livechat__chats_queued_visitors}"
    ),
    "tags": "select account_id, month_start, tag, chats, share_of_chats from {tag_usage_monthly}",
    "greetings": (
        "select account_id, month_start, greeting_id, displayed, accepted, goals"
        " from {greeting_funnel_monthly}"
    ),
    "groups": (
        "select account_id, month_start, group_id, chats, share_of_chats from {group_chats_monthly}"
    ),
    # The time zone days were cut in, from each account's latest request (for the heatmap).
    "timezones": (
        "select account_id, timezone, max(requested_at) as last_requested"
        " from {stg_livechat__report_requests} group by account_id, timezone"
    ),
}
# The heatmap reads the loaded hourly rows: no view keeps `report_hour` (yet). Days of loads
# that did not finish are left out, as the staging views leave them out.
HOURLY_QUERY = (
    "select loaded.account_id, loaded.report_date,"
    " extract(epoch from loaded.report_hour) as hour_epoch, loaded.total as chats"
    " from {chats_total_chats} as loaded"
    " where loaded.report_hour is not null and not exists ("
    "select 1 from {stg_livechat__unfinished_loads} as unfinished"
    " where unfinished.account_id = loaded.account_id"
    " and unfinished.report_date = loaded.report_date)"
)
REQUIRED_MARTS = ("kpi_daily", "kpi_weekly", "kpi_monthly")
# Loads that wrote rows but never finished (dlt writes a load's `_dlt_loads` row last): the
# staging views leave out every day they touched, so the page says why those days are missing.
UNFINISHED_QUERY = (
    "select count(distinct load_id) as loads, count(distinct report_date) as days"
    " from {stg_livechat__unfinished_loads}"
)
NEXT_LOAD = "the next `livechat-reports load` finishes it"


class DashboardError(Exception):
    """The dashboard cannot be written; the message says why and what to do.

    What it means for the next run is `pipelines.diagnosis`'s to say: an option, a path, a
    dataset or an extra to fix (bad input), unless it is a `DatabaseBusy`.
    """


class DatabaseBusy(DashboardError):
    """Another program (a load) is writing the database: the same command passes after it."""


Row = dict[str, Any]


@dataclass
class Marts:
    """The rows the page is built from, each query's rows as dicts, for every account."""

    dataset: str
    rows: dict[str, list[Row]] = field(default_factory=dict)
    hourly: list[Row] = field(default_factory=list)
    unfinished_loads: int = 0
    unfinished_days: int = 0

    def unfinished(self) -> str:
        """Say what an unfinished load hides from the page, or nothing when none is."""
        if not self.unfinished_loads:
            return ""
        days = f" ({self.unfinished_days} days)" if self.unfinished_days else ""
        return (
            f"The last load into dataset `{self.dataset}` is unfinished: the views leave out"
            f" every day it touched{days} until it finishes, and {NEXT_LOAD}."
        )


def plain(value: Any) -> Any:
    """Return a database value as a JSON-ready Python value (Decimal to int/float, NaN to None)."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Reader:
    """Runs the dashboard's queries on one dataset and says what a view is called there."""

    def __init__(
        self,
        dataset: str,
        where: str,
        run: Callable[[str], tuple[list[str], Sequence[Sequence[Any]]]],
        qualify: Callable[[str], str],
        relations: Callable[[], set[str]],
        columns: Callable[[str], set[str]],
    ) -> None:
        self.dataset = dataset
        self.where = where
        self._run = run
        self._qualify = qualify
        self._relations = relations
        self._columns = columns

    def rows(self, sql: str) -> list[Row]:
        """Run one query (`{view}` placeholders) and return its rows as dicts of plain values."""
        names = {n: self._qualify(n) for n in _placeholders(sql)}
        columns, rows = self._run(sql.format(**names))
        return [{c: plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]

    def read(self) -> Marts:
        """Read everything the page needs.

        Raises:
            DashboardError: When the dataset has no marts (nothing loaded or transformed).
        """
        present = self._relations()
        missing = [v for v in REQUIRED_MARTS if v not in present]
        if missing and self._unfinished_rows(present):
            raise DashboardError(
                f"Dataset `{self.dataset}` in {self.where} has no {', '.join(missing)} view:"
                " its last load is unfinished (its rows are in the tables, but `_dlt_loads`"
                f" does not list it), so the views were not built; {NEXT_LOAD} and builds"
                " them. Then run the dashboard again."
            )
        if missing:
            raise DashboardError(
                f"Dataset `{self.dataset}` in {self.where} has no {', '.join(missing)} view,"
                " so there is nothing to show. Load first (`livechat-reports load`), or build"
                " the views with `livechat-reports transform`; if the load used another"
                " --dataset, --destination or --duckdb-file, pass the same here."
            )
        marts = Marts(self.dataset)
        for name, sql in QUERIES.items():
            needed = _placeholders(sql)
            marts.rows[name] = self.rows(sql) if needed <= present else []
        if "chats_total_chats" in present and "report_hour" in self._columns("chats_total_chats"):
            marts.hourly = self.rows(HOURLY_QUERY)
        if _placeholders(UNFINISHED_QUERY) <= present:
            (counts,) = self.rows(UNFINISHED_QUERY)
            marts.unfinished_loads = int(counts["loads"] or 0)
            marts.unfinished_days = int(counts["days"] or 0)
        return marts

    def _unfinished_rows(self, present: set[str]) -> bool:
        """Whether a loaded table holds rows of a load that `_dlt_loads` does not list."""
        from transforms.tables import LOADS_TABLE, report_tables

        finished = (
            f" where _dlt_load_id not in (select load_id from {{{LOADS_TABLE}}} where status = 0)"
            if LOADS_TABLE in present
            else ""  # no load ever finished
        )
        for table in sorted(set(report_tables()) & present):
            if self.rows(f"select 1 as found from {{{table}}}{finished} limit 1"):
                return True
        return False


def _placeholders(sql: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(sql) if name}


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@contextmanager
def duckdb_reader(path: str, dataset: str) -> Iterator[Reader]:
    """Open a DuckDB file read-only for one read, and close it.

    Raises:
        DashboardError: When the file does not exist or is not a DuckDB file.
        DatabaseBusy: When a load holds it.
    """
    import duckdb

    where = f"DuckDB file `{path}`"
    if not Path(path).is_file():
        raise DashboardError(
            f"There is no DuckDB file at `{path}`. Load first (`livechat-reports load`), or"
            " point --duckdb-file at the file the load wrote."
        )
    try:
        # One thread: parallel sums of doubles add in varying order, and the last digits of
        # an average would differ from run to run (the page must not).
        connection = duckdb.connect(path, read_only=True, config={"threads": 1})
    except duckdb.IOException as error:
        text = str(error)
        if "lock" in text.lower():
            raise DatabaseBusy(
                f"The DuckDB file `{path}` is being written by another program ({_holder(text)}),"
                " and DuckDB lets no one read a file while it is written. Run the dashboard"
                " after the load ends (schedule it after the load)."
            ) from None
        raise DashboardError(f"Cannot open `{path}` as a DuckDB file: {text}") from None
    try:
        catalog = connection.execute("select current_database()").fetchone()
        prefix = f"{_quote(str(catalog[0]))}.{_quote(dataset)}." if catalog else ""

        def run(sql: str) -> tuple[list[str], Sequence[Sequence[Any]]]:
            cursor = connection.execute(sql)
            return [d[0] for d in cursor.description or []], cursor.fetchall()

        def relations() -> set[str]:
            rows = connection.execute(
                "select table_name from information_schema.tables where table_schema = ?",
                [dataset],
            ).fetchall()
            return {r[0] for r in rows}

        def columns(table: str) -> set[str]:
            rows = connection.execute(
                "select column_name from information_schema.columns"
                " where table_schema = ? and table_name = ?",
                [dataset, table],
            ).fetchall()
            return {r[0] for r in rows}

        yield Reader(dataset, where, run, lambda n: prefix + _quote(n), relations, columns)
    finally:
        connection.close()


def _holder(text: str) -> str:
    match = re.search(r"Conflicting lock is held in (.+?) \(PID (\d+)\)", text)
    return f"{match[1]}, PID {match[2]}" if match else "a lock is held on it"


@contextmanager
def client_reader(pipeline: Any) -> Iterator[Reader]:
    """Read through a dlt pipeline's SQL client (PostgreSQL and other SQL destinations)."""
    with pipeline.sql_client() as client:
        dataset = client.dataset_name
        destination = pipeline.destination.destination_name if pipeline.destination else "?"

        def run(sql: str) -> tuple[list[str], Sequence[Sequence[Any]]]:
            with client.execute_query(sql) as cursor:
                return [d[0] for d in cursor.description or []], cursor.fetchall()

        def relations() -> set[str]:
            rows = client.execute_sql(
                "select table_name from information_schema.tables where table_schema = %s",
                dataset,
            )
            return {r[0] for r in rows or []}

        def columns(table: str) -> set[str]:
            rows = client.execute_sql(
                "select column_name from information_schema.columns"
                " where table_schema = %s and table_name = %s",
                dataset,
                table,
            )
            return {r[0] for r in rows or []}

        yield Reader(
            dataset,
            f"destination `{destination}`",
            run,
            lambda n: str(client.make_qualified_table_name(n)),
            relations,
            columns,
        )


def as_date(value: Any) -> dt.date:
    """Return a DATE column's value as a date (drivers may return a datetime)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
