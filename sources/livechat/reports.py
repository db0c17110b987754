"""The registry: one `ReportSpec` per Reports API endpoint, and the tables they load."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from dlt.common.data_types import TDataType
from dlt.common.schema.typing import TColumnSchema

from . import flatten
from .filters import (
    AGENT_FILTERS,
    CHAT_FILTERS,
    CHAT_USAGE_FILTERS,
    GREETING_FILTERS,
    NO_FILTERS,
    Accepted,
)
from .flatten import Flattener


class Kind(str, Enum):
    """How a report is requested."""

    SERIES = "series"  # records keyed by time bucket: one request per multi-day window
    RANGE = "range"  # one aggregate over the range: one request per day
    PAGED = "paged"  # a range report in pages: one request per day and page
    PERIOD = "period"  # one aggregate per ISO week and calendar month a run touches


GROUP_KEY = "group_id"
BY_GROUP = "_by_group"


@dataclass(frozen=True)
class TableSpec:
    """A warehouse table: its key columns after `account_id` (and the day), and its columns.

    Key columns are text (ids are kept as the API sends them) unless `key_types` says otherwise.

    Attributes:
        name: The table's name.
        dimensions: Key columns after the day (and hour).
        columns: Metric and attribute columns.
        key_types: Types of key columns that are not text.
        group_renames: Columns renamed in the table's per-group copy, where a column of the
            answer is already called `group_id` (chats/forms: the form's group).
        base: For a per-group table, the table it breaks down.
    """

    name: str
    dimensions: tuple[str, ...]
    columns: dict[str, TDataType]
    key_types: dict[str, TDataType] = field(default_factory=dict)
    group_renames: dict[str, str] = field(default_factory=dict)
    base: str | None = None

    @property
    def grouped(self) -> bool:
        """Whether this is a per-group table (`group_id` in the key, after `account_id`)."""
        return self.base is not None

    @property
    def merge_key(self) -> str | None:
        """The key column that is empty in a merge placeholder row, if the table can be empty."""
        if self.grouped:
            return GROUP_KEY
        return self.dimensions[0] if self.dimensions else None

    def by_group(self) -> TableSpec:
        """Return the per-group table: the same columns, `group_id` in the key."""
        return TableSpec(
            self.name + BY_GROUP,
            self.dimensions,
            {self.group_renames.get(n, n): t for n, t in self.columns.items()},
            self.key_types,
            self.group_renames,
            base=self.name,
        )


@dataclass(frozen=True)
class ReportSpec:
    """One endpoint and how to load it.

    Attributes:
        path: `<resource>/<action>` of the endpoint.
        kind: How it is requested (see `Kind`).
        response_name: The `name` every answer of the endpoint carries.
        flatten: Body -> rows per table.
        table: The main table (its name is also the resource and report name).
        extra_tables: Further tables the flattener fills from the same answers.
        filters: User filters the endpoint accepts, with their modes.
        hourly: Whether `distribution = "hour"` applies (series reports).
        time_filter: Where the time pair goes: `filters` or `filters.greetings`.
        fixed_filters: Filters every request of the report carries (what defines it).
        group_filter: Where a request's one group goes when the report is broken down by
            group (`groups` or `greetings.groups`); None when it cannot be.
        group: For a per-group copy made by `by_group`, the report it breaks down.
    """

    path: str
    kind: Kind
    response_name: str
    flatten: Flattener
    table: TableSpec
    extra_tables: tuple[TableSpec, ...] = ()
    filters: Accepted = field(default_factory=lambda: CHAT_FILTERS)
    hourly: bool = False
    time_filter: str = "filters"
    fixed_filters: Mapping[str, Any] = field(default_factory=dict)
    group_filter: str | None = "groups"
    group: str | None = None

    @property
    def name(self) -> str:
        """The report's name: its main table."""
        return self.table.name

    @property
    def tables(self) -> tuple[TableSpec, ...]:
        """Every table the report loads."""
        return (self.table, *self.extra_tables)

    def by_group(self) -> ReportSpec:
        """Return the report broken down by group: one request per group, per-group tables.

        Its name (the main per-group table) names its resource, so it keeps an incremental
        state of its own: a breakdown turned on later starts at `start_date`, like a new report.
        """
        if self.group_filter is None:
            raise ValueError(f"{self.name} cannot be broken down by group")
        return replace(
            self,
            table=self.table.by_group(),
            extra_tables=tuple(t.by_group() for t in self.extra_tables),
            group=self.name,
        )


def _series(
    path: str,
    response: str,
    table: str,
    columns: dict[str, TDataType],
    *,
    dimensions: tuple[str, ...] = (),
    flattener: Flattener = flatten.series,
    filters: Accepted = CHAT_FILTERS,
    time_filter: str = "filters",
    fixed_filters: Mapping[str, Any] | None = None,
    group_filter: str | None = "groups",
) -> ReportSpec:
    return ReportSpec(
        path,
        Kind.SERIES,
        response,
        flattener,
        TableSpec(table, dimensions, columns),
        filters=filters,
        hourly=True,
        time_filter=time_filter,
        fixed_filters=fixed_filters or {},
        group_filter=group_filter,
    )


COUNT: TDataType = "bigint"
SECONDS: TDataType = "double"
TEXT: TDataType = "text"

MISSED_CHATS: Mapping[str, Any] = {"agent_response": {"exists": False}}

_QUEUE_STATS = {
    f"{part}_{stat}": (COUNT if stat == "count" else SECONDS)
    for part in ("queued", "left_queue", "entered_chat")
    for stat in ("count", "min", "max", "avg")
}

REPORTS: tuple[ReportSpec, ...] = (
    _series(
        "chats/duration",
        "duration-report",
        "chats_duration",
        {"agents_chatting_duration": SECONDS, "count": COUNT, "duration": SECONDS},
    ),
    _series(
        "chats/tags",
        "tags-report",
        "chats_tags",
        {"chats": COUNT},
        dimensions=("tag",),
        flattener=flatten.series_counts("tag", "chats"),
    ),
    _series(
        "chats/total_chats",
        "total-chats-report",
        "chats_total_chats",
        {"total": COUNT, "continuous": COUNT},
    ),
    # Missed chats (no agent response): the API has no report for them; this project defines
    # them with the documented filter. A user `agent_response` filter would contradict it.
    _series(
        "chats/total_chats",
        "total-chats-report",
        "chats_missed_chats",
        {"total": COUNT, "continuous": COUNT},
        filters={k: v for k, v in CHAT_FILTERS.items() if k != "agent_response"},
        fixed_filters=MISSED_CHATS,
    ),
    _series(
        "chats/ratings",
        "ratings-report",
        "chats_ratings",
        {"chats": COUNT, "good": COUNT, "bad": COUNT},
    ),
    _series(
        "chats/engagement",
        "engagement-report",
        "chats_engagement",
        # No `total` per day: the API reference lists `records.<day>.total`, but the published
        # sample has none and the answer's own `total` is not the sum of the origins, so nothing
        # documented fills it. An answer that does carry it gets a `total` column, like any
        # unknown metric.
        {
            "started_by_customer_from_greeting": COUNT,
            "started_by_customer_without_greeting": COUNT,
            "started_by_agent": COUNT,
        },
    ),
    _series(
        "chats/greetings_conversion",
        "greetings-conversion-report",
        "chats_greetings_conversion",
        {"accepted": COUNT, "canceled": COUNT, "displayed": COUNT, "goals": COUNT},
        dimensions=("greeting_id",),
        flattener=flatten.series_dimension("greeting_id"),
        filters=GREETING_FILTERS,
        time_filter="greetings",
        group_filter="greetings.groups",
    ),
    _series(
        "chats/response_time",
        "response-time-report",
        "chats_response_time",
        {"count": COUNT, "response_time": SECONDS},
    ),
    _series(
        "chats/first_response_time",
        "first-response-time-report",
        "chats_first_response_time",
        {"count": COUNT, "first_response_time": SECONDS},
    ),
    _series(
        "chats/groups",
        "groups-report",
        "chats_groups",
        {"chats": COUNT},
        dimensions=("group_id",),
        flattener=flatten.series_counts("group_id", "chats"),
        group_filter=None,  # each row is a group already
    ),
    _series(
        "chats/queued_visitors",
        "queued-visitors-report",
        "chats_queued_visitors",
        _QUEUE_STATS,
        filters=NO_FILTERS,  # a customer report: only from/to (docs)
        group_filter=None,
    ),
    _series(
        "agents/availability",
        "availability-report",
        "agents_availability",
        {"hours": "double", "minutes": "double"},
        filters=AGENT_FILTERS,
    ),
    ReportSpec(
        "chats/ranking",
        Kind.RANGE,
        "ranking-report",
        flatten.keyed("agent_id"),
        TableSpec(
            "chats_ranking",
            ("agent_id",),
            {"total": COUNT, "good": COUNT, "bad": COUNT, "score": "double"},
        ),
    ),
    ReportSpec(
        "chats/forms",
        Kind.RANGE,
        "form-report",
        flatten.forms,
        TableSpec(
            "chats_forms",
            ("form_id",),
            {"group_id": COUNT, "count": COUNT},
            group_renames={"group_id": "form_group_id"},
        ),
        extra_tables=(
            TableSpec(
                flatten.FORM_ANSWERS_TABLE,
                ("form_id", "field_id", "answer_id"),
                {"field_label": TEXT, "answer_label": TEXT, "count": COUNT},
            ),
        ),
    ),
    ReportSpec(
        "agents/performance",
        Kind.RANGE,
        "performance-report",
        flatten.keyed("agent_id"),
        TableSpec(
            "agents_performance",
            ("agent_id",),
            {
                "chats_count": COUNT,
                "chats_rated_good": COUNT,
                "chats_rated_bad": COUNT,
                "first_response_chats_count": COUNT,
                "first_response_time": SECONDS,
                "accepting_chats_time": SECONDS,
                "chatting_time": SECONDS,
                "logged_in_time": SECONDS,
                "not_accepting_chats_time": SECONDS,
            },
        ),
        filters=AGENT_FILTERS,
    ),
    ReportSpec(
        "tags/chat_usage",
        Kind.RANGE,
        "tags-chat-usage-report",
        flatten.keyed_counts("tag", "chats"),
        TableSpec("tags_chat_usage", ("tag",), {"chats": COUNT}),
        filters=CHAT_USAGE_FILTERS,
    ),
    ReportSpec(
        "customers/unique_visitors",
        Kind.RANGE,
        "visitors-report",
        flatten.summary,
        TableSpec("customers_unique_visitors", (), {"unique_visitors": COUNT, "page_views": COUNT}),
        filters=NO_FILTERS,
        group_filter=None,
    ),
    ReportSpec(
        "customers/unique_visitors",
        Kind.PERIOD,
        "visitors-report",
        flatten.summary,
        TableSpec(
            "customers_unique_visitors_by_period",
            ("period", "period_start"),
            {"period_end": "date", "unique_visitors": COUNT, "page_views": COUNT},
            key_types={"period_start": "date"},
        ),
        filters=NO_FILTERS,
        group_filter=None,
    ),
    ReportSpec(
        "chats/queued_visitors_left",
        Kind.PAGED,
        "queued-visitors-left-report",
        flatten.queued_visitors_left,
        TableSpec(
            "chats_queued_visitors_left",
            ("chat_id",),
            {
                "visitor_id": TEXT,
                "visitor_ip": TEXT,
                "visitor_name": TEXT,
                "visitor_email": TEXT,
                "queue_duration": SECONDS,
                "queue_group_id": COUNT,
                "queue_started_at": "timestamp",
                "queue_url": TEXT,
            },
        ),
        filters=NO_FILTERS,
        group_filter=None,
    ),
)

REPORTS_BY_NAME: dict[str, ReportSpec] = {r.name: r for r in REPORTS}


def every_report() -> tuple[ReportSpec, ...]:
    """Every report a run can load: the registry's, then the per-group copy of each that can."""
    return (*REPORTS, *(r.by_group() for r in REPORTS if r.group_filter is not None))


def table_columns(table: TableSpec, spec: ReportSpec, hourly: bool) -> dict[str, TColumnSchema]:
    """Return the dlt column hints of a table, key columns first.

    Args:
        table: The table.
        spec: The report that loads it.
        hourly: Whether the run uses `distribution = "hour"` (puts `report_hour` in the key).
    """
    key: dict[str, TDataType] = {"account_id": TEXT}
    if table.grouped:
        key[GROUP_KEY] = TEXT
    if spec.kind is not Kind.PERIOD:
        key["report_date"] = "date"
        if spec.hourly:
            key["report_hour"] = "timestamp"
    key.update({d: table.key_types.get(d, TEXT) for d in table.dimensions})
    columns: dict[str, TColumnSchema] = {
        name: {"data_type": t, "nullable": False, "primary_key": True} for name, t in key.items()
    }
    if "report_hour" in columns:
        # Every table a report can load by the hour has the column, null in rows loaded by the
        # day, so a `--refresh` from one distribution to the other never has to add a key column
        # to a table that holds rows, and the views read the same columns either way. It is in
        # the key only when the run loads by the hour.
        columns["report_hour"] = {"data_type": "timestamp", "nullable": True}
        if hourly:
            columns["report_hour"]["primary_key"] = True
    columns.update({name: {"data_type": t, "nullable": True} for name, t in table.columns.items()})
    return columns


def primary_key(table: TableSpec, spec: ReportSpec, hourly: bool) -> list[str]:
    """Return the key columns of a table, `account_id` first."""
    return [n for n, c in table_columns(table, spec, hourly).items() if c.get("primary_key")]
