"""Pure flatteners: one response body in, normalized rows out, one function per response shape.

Every flattener takes the parsed body and a `Context` (account, window, timezone, distribution)
and returns rows per table. They validate as they go: a body that does not have the declared
shape raises `ResponseShapeError` naming the report, the window and what was found.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from .exceptions import ResponseShapeError
from .windows import Window

Row = dict[str, Any]
Tables = dict[str, list[Row]]
Flattener = Callable[[Mapping[str, Any], "Context"], Tables]

DAY_KEY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HOUR_KEY = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


@dataclass(frozen=True)
class Context:
    """What a flattener needs besides the body.

    Attributes:
        report: The report path, for messages.
        table: The main table the rows go to.
        account_id: The LiveChat account the rows belong to.
        window: The requested days (one day for range reports).
        timezone: IANA zone the buckets were cut in.
        distribution: `day` or `hour` (series reports only).
        period: `week` or `month` for per-period requests, else None.
    """

    report: str
    table: str
    account_id: str
    window: Window
    timezone: str
    distribution: str = "day"
    period: str | None = None

    def fail(self, detail: str) -> ResponseShapeError:
        """Build the error for a body that does not match the declared shape."""
        return ResponseShapeError(self.report, str(self.window), detail)

    def base(self, day: dt.date) -> Row:
        """Return the key columns every row starts with."""
        return {"account_id": self.account_id, "report_date": day}


def _object(value: Any, ctx: Context, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ctx.fail(
            f"`{where}` should be an object, found {type(value).__name__} `{value!r:.80}`"
        )
    return value


def _number(value: Any, ctx: Context, where: str) -> int | float | None:
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    raise ctx.fail(f"`{where}` should be a number, found {type(value).__name__} `{value!r:.80}`")


def _metrics(record: Any, ctx: Context, where: str) -> Row:
    """Numbers of a record as columns; nested objects become `parent_child` columns."""
    row: Row = {}
    for name, value in _object(record, ctx, where).items():
        if isinstance(value, Mapping):
            for child, number in _metrics(value, ctx, f"{where}.{name}").items():
                row[f"{name}_{child}"] = number
        else:
            row[name] = _number(value, ctx, f"{where}.{name}")
    return row


def _records(body: Mapping[str, Any], ctx: Context) -> Mapping[str, Any]:
    if "records" not in body:
        raise ctx.fail(f"no `records` in the answer (keys: {sorted(body)})")
    return _object(body["records"], ctx, "records")


def _bucket(key: str, ctx: Context) -> Row:
    """Parse a series record key into `report_date` (and `report_hour`), strictly."""
    if ctx.distribution == "hour":
        if not HOUR_KEY.match(key):
            raise ctx.fail(f"record key `{key}` is not an hour bucket (YYYY-MM-DD HH:MM:SS)")
        local = dt.datetime.strptime(key, "%Y-%m-%d %H:%M:%S").replace(
            tzinfo=ZoneInfo(ctx.timezone)
        )
        day = local.date()
        columns = {"report_hour": local.astimezone(dt.timezone.utc)}
    else:
        if not DAY_KEY.match(key):
            raise ctx.fail(f"record key `{key}` is not a day bucket (YYYY-MM-DD)")
        day, columns = dt.date.fromisoformat(key), {}
    if not ctx.window.first <= day <= ctx.window.last:
        raise ctx.fail(f"record key `{key}` lies outside the requested days")
    return {**ctx.base(day), **columns}


def _series_rows(
    body: Mapping[str, Any], ctx: Context, expand: Callable[[Row, Any, str], list[Row]]
) -> Tables:
    rows: list[Row] = []
    seen: set[dt.date] = set()
    for key, record in _records(body, ctx).items():
        base = _bucket(key, ctx)
        seen.add(base["report_date"])
        rows.extend(expand(base, record, f"records.{key}"))
    missing = [str(d) for d in ctx.window.days if d not in seen]
    if missing:
        raise ctx.fail(f"no bucket for requested days {', '.join(missing[:5])}")
    return {ctx.table: rows}


def series(body: Mapping[str, Any], ctx: Context) -> Tables:
    """`records` keyed by bucket, metrics inside: one row per bucket, empty buckets included."""
    return _series_rows(
        body, ctx, lambda base, record, where: [{**base, **_metrics(record, ctx, where)}]
    )


def series_counts(dimension: str, column: str) -> Flattener:
    """`records` keyed by bucket, then by `dimension` with a count: one row per bucket and value."""

    def flatten(body: Mapping[str, Any], ctx: Context) -> Tables:
        def expand(base: Row, record: Any, where: str) -> list[Row]:
            return [
                {**base, dimension: key, column: _number(count, ctx, f"{where}.{key}")}
                for key, count in _object(record, ctx, where).items()
            ]

        return _series_rows(body, ctx, expand)

    flatten.__doc__ = f"One row per bucket and {dimension}, the count in `{column}`."
    return flatten


def series_dimension(dimension: str) -> Flattener:
    """`records` keyed by bucket, then by `dimension` with metrics: one row per bucket and value."""

    def flatten(body: Mapping[str, Any], ctx: Context) -> Tables:
        def expand(base: Row, record: Any, where: str) -> list[Row]:
            return [
                {**base, dimension: key, **_metrics(metrics, ctx, f"{where}.{key}")}
                for key, metrics in _object(record, ctx, where).items()
            ]

        return _series_rows(body, ctx, expand)

    flatten.__doc__ = f"One row per bucket and {dimension}, with its metrics."
    return flatten


def _one_day(ctx: Context) -> dt.date:
    if ctx.window.first != ctx.window.last:
        raise ctx.fail("a range report must be requested for one day at a time")
    return ctx.window.first


def keyed(dimension: str) -> Flattener:
    """`records` keyed by `dimension` (agent, ...) with metrics: one row per value for the day."""

    def flatten(body: Mapping[str, Any], ctx: Context) -> Tables:
        base = ctx.base(_one_day(ctx))
        return {
            ctx.table: [
                {**base, dimension: key, **_metrics(metrics, ctx, f"records.{key}")}
                for key, metrics in _records(body, ctx).items()
            ]
        }

    flatten.__doc__ = f"One row per {dimension} for the requested day."
    return flatten


def keyed_counts(dimension: str, column: str) -> Flattener:
    """`records` keyed by `dimension` with a count: one row per value for the day."""

    def flatten(body: Mapping[str, Any], ctx: Context) -> Tables:
        base = ctx.base(_one_day(ctx))
        return {
            ctx.table: [
                {**base, dimension: key, column: _number(count, ctx, f"records.{key}")}
                for key, count in _records(body, ctx).items()
            ]
        }

    flatten.__doc__ = f"One row per {dimension} for the requested day, the count in `{column}`."
    return flatten


def summary(body: Mapping[str, Any], ctx: Context) -> Tables:
    """`summary` with totals over the range: one row for the day, or for the period."""
    if "summary" not in body:
        raise ctx.fail(f"no `summary` in the answer (keys: {sorted(body)})")
    metrics = _metrics(body["summary"], ctx, "summary")
    if ctx.period:
        row = {
            "account_id": ctx.account_id,
            "period": ctx.period,
            "period_start": ctx.window.first,
            "period_end": ctx.window.last,
        }
        return {ctx.table: [{**row, **metrics}]}
    return {ctx.table: [{**ctx.base(_one_day(ctx)), **metrics}]}


FORM_ANSWERS_TABLE = "chats_form_answers"


def forms(body: Mapping[str, Any], ctx: Context) -> Tables:
    """`records` is an array of forms with fields and answers: a row per form and per answer."""
    day = _one_day(ctx)
    if not isinstance(body.get("records"), list):
        raise ctx.fail(
            f"`records` should be an array of forms, found `{body.get('records')!r:.80}`"
        )
    form_rows: list[Row] = []
    answer_rows: list[Row] = []
    for i, form in enumerate(body["records"]):
        where = f"records[{i}]"
        form = _object(form, ctx, where)
        form_id = _text(form.get("form_id"), ctx, f"{where}.form_id")
        form_rows.append(
            {
                **ctx.base(day),
                "form_id": form_id,
                "group_id": _number(form.get("group_id"), ctx, f"{where}.group_id"),
                "count": _number(form.get("count"), ctx, f"{where}.count"),
            }
        )
        for j, field in enumerate(_list(form.get("fields", []), ctx, f"{where}.fields")):
            fwhere = f"{where}.fields[{j}]"
            field = _object(field, ctx, fwhere)
            for k, answer in enumerate(_list(field.get("answers", []), ctx, f"{fwhere}.answers")):
                awhere = f"{fwhere}.answers[{k}]"
                answer = _object(answer, ctx, awhere)
                answer_rows.append(
                    {
                        **ctx.base(day),
                        "form_id": form_id,
                        "field_id": _text(field.get("field_id"), ctx, f"{fwhere}.field_id"),
                        "answer_id": _text(answer.get("answer_id"), ctx, f"{awhere}.answer_id"),
                        "field_label": field.get("label"),
                        "answer_label": answer.get("label"),
                        "count": _number(answer.get("count"), ctx, f"{awhere}.count"),
                    }
                )
    return {ctx.table: form_rows, FORM_ANSWERS_TABLE: answer_rows}


def _text(value: Any, ctx: Context, where: str) -> str:
    """An id as text: ids are strings or integers in the samples; both are kept as text."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ctx.fail(f"`{where}` should be an id, found `{value!r:.80}`")
    return str(value)


def _list(value: Any, ctx: Context, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ctx.fail(f"`{where}` should be an array, found `{value!r:.80}`")
    return value


def _timestamp(value: Any, ctx: Context, where: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as e:
        raise ctx.fail(f"`{where}` should be an RFC 3339 time, found `{value!r:.80}`") from e


# Fields of `visitor` and `queue` with columns of their own; any other field of a record becomes
# a column too: `<field>` at the top, `visitor_<field>` and `queue_<field>` inside those objects.
VISITOR_FIELDS = {
    "id": "visitor_id",
    "ip": "visitor_ip",
    "name": "visitor_name",
    "email": "visitor_email",
}
QUEUE_FIELDS = {
    "duration": "queue_duration",
    "group": "queue_group_id",
    "start_date": "queue_started_at",
    "url": "queue_url",
}


def queued_visitors_left(body: Mapping[str, Any], ctx: Context) -> Tables:
    """`records` keyed by chat id with visitor and queue details: one row per chat for the day.

    Unknown fields (custom variables, pre-chat survey, new queue details, ...) become nullable
    columns with their values as sent; one that would land on another column fails the run.
    """
    day = _one_day(ctx)
    rows = []
    for chat_id, record in _records(body, ctx).items():
        where = f"records.{chat_id}"
        record = _object(record, ctx, where)
        visitor = _object(record.get("visitor", {}), ctx, f"{where}.visitor")
        queue = _object(record.get("queue", {}), ctx, f"{where}.queue")
        row = {
            **ctx.base(day),
            "chat_id": chat_id,
            **{column: visitor.get(name) for name, column in VISITOR_FIELDS.items()},
            "queue_duration": _number(queue.get("duration"), ctx, f"{where}.queue.duration"),
            "queue_group_id": _number(queue.get("group"), ctx, f"{where}.queue.group"),
            "queue_started_at": _timestamp(
                queue.get("start_date"), ctx, f"{where}.queue.start_date"
            ),
            "queue_url": queue.get("url"),
        }
        extras = [
            *(
                (name, name, value)
                for name, value in record.items()
                if name not in ("visitor", "queue")
            ),
            *(
                (f"visitor.{name}", f"visitor_{name}", value)
                for name, value in visitor.items()
                if name not in VISITOR_FIELDS
            ),
            *(
                (f"queue.{name}", f"queue_{name}", value)
                for name, value in queue.items()
                if name not in QUEUE_FIELDS
            ),
        ]
        for field, column, value in extras:
            if column in row:
                raise ctx.fail(f"`{where}.{field}` would overwrite the column `{column}`")
            row[column] = value
        rows.append(row)
    return {ctx.table: rows}


def total_pages(body: Mapping[str, Any], ctx: Context) -> int:
    """Return `summary.total_pages` of a paged answer (at least 1)."""
    pages = _object(body.get("summary"), ctx, "summary").get("total_pages")
    if not isinstance(pages, int) or isinstance(pages, bool) or pages < 0:
        raise ctx.fail(f"`summary.total_pages` should be a whole number, found `{pages!r:.80}`")
    return max(1, pages)
