"""The test oracle: what each table should hold, computed from the emulator's own answers.

It asks the emulator one day at a time (the source asks in multi-day windows) and maps the
answers to rows with plain dict walks, independent of the source's flatteners.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

import requests

from sources.livechat_emulator import Emulator

Key = tuple[Any, ...]
Table = dict[Key, dict[str, Any]]
AUTH = ("demo", "demo-pat")

SERIES = {
    "chats_duration": "chats/duration",
    "chats_total_chats": "chats/total_chats",
    "chats_missed_chats": "chats/total_chats",
    "chats_ratings": "chats/ratings",
    "chats_engagement": "chats/engagement",
    "chats_response_time": "chats/response_time",
    "chats_first_response_time": "chats/first_response_time",
    "chats_queued_visitors": "chats/queued_visitors",
    "agents_availability": "agents/availability",
}
# Filters a report's own requests carry (the missed chats: no agent response).
FIXED_FILTERS = {"chats_missed_chats": {"agent_response": {"exists": False}}}
SERIES_BY = {
    "chats_tags": ("chats/tags", "chats"),
    "chats_groups": ("chats/groups", "chats"),
    "chats_greetings_conversion": ("chats/greetings_conversion", None),
}
KEYED = {"chats_ranking": "chats/ranking", "agents_performance": "agents/performance"}


def ask(emu: Emulator, report: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(f"{emu.url}/v3.6/reports/{report}", json=body, auth=AUTH, timeout=30)
    answer.raise_for_status()
    return answer.json()


def day_filters(day: dt.date, tz: str, greetings: bool = False) -> dict[str, Any]:
    zone = ZoneInfo(tz)
    bounds = {
        "from": dt.datetime.combine(day, dt.time(0), zone).isoformat(),
        "to": dt.datetime.combine(day, dt.time(23, 59, 59), zone).isoformat(),
    }
    return {"greetings": bounds} if greetings else bounds


def _flat(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in record.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{name}_"))
        else:
            out[f"{prefix}{name}"] = value
    return out


def _bucket_key(key: str, tz: str, hourly: bool) -> Key:
    if not hourly:
        return (dt.date.fromisoformat(key),)
    local = dt.datetime.strptime(key, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo(tz))
    return (local.date(), local.astimezone(dt.timezone.utc))


def expected(
    emu: Emulator, table: str, days: Iterable[dt.date], tz: str, hourly: bool = False
) -> Table:
    """Rows a table should hold for `days`, keyed by its key columns after account_id."""
    rows: Table = {}
    for day in days:
        body: dict[str, Any] = {"timezone": tz}
        if table in SERIES or table in SERIES_BY:
            path = SERIES[table] if table in SERIES else SERIES_BY[table][0]
            body["distribution"] = "hour" if hourly else "day"
            body["filters"] = day_filters(day, tz, path.endswith("greetings_conversion"))
            body["filters"].update(FIXED_FILTERS.get(table, {}))
            for key, record in ask(emu, path, body)["records"].items():
                bucket = _bucket_key(key, tz, hourly)
                if table in SERIES:
                    rows[bucket] = _flat(record)
                else:
                    column = SERIES_BY[table][1]
                    for dim, value in record.items():
                        rows[(*bucket, dim)] = {column: value} if column else dict(value)
            continue
        body["filters"] = day_filters(day, tz)
        if table in KEYED:
            for agent, metrics in ask(emu, KEYED[table], body)["records"].items():
                rows[(day, agent)] = dict(metrics)
        elif table == "tags_chat_usage":
            for tag, count in ask(emu, "tags/chat_usage", body)["records"].items():
                rows[(day, tag)] = {"chats": count}
        elif table == "customers_unique_visitors":
            rows[(day,)] = dict(ask(emu, "customers/unique_visitors", body)["summary"])
        elif table in ("chats_forms", "chats_form_answers"):
            for form in ask(emu, "chats/forms", body)["records"]:
                if table == "chats_forms":
                    rows[(day, form["form_id"])] = {
                        "group_id": form["group_id"],
                        "count": form["count"],
                    }
                    continue
                for field in form["fields"]:
                    for answer in field["answers"]:
                        key = (day, form["form_id"], field["field_id"], str(answer["answer_id"]))
                        rows[key] = {
                            "field_label": field["label"],
                            "answer_label": answer["label"],
                            "count": answer["count"],
                        }
        elif table == "chats_queued_visitors_left":
            page, pages = 1, 1
            while page <= pages:
                got = ask(emu, "chats/queued_visitors_left", {**body, "page": page})
                pages = got["summary"]["total_pages"]
                for chat_id, record in got["records"].items():
                    rows[(day, chat_id)] = {
                        "visitor_id": record["visitor"]["id"],
                        "visitor_ip": record["visitor"]["ip"],
                        "visitor_name": record["visitor"].get("name"),
                        "visitor_email": record["visitor"].get("email"),
                        "queue_started_at": dt.datetime.fromisoformat(
                            record["queue"]["start_date"].replace("Z", "+00:00")
                        ),
                        "queue_duration": record["queue"]["duration"],
                        "queue_group_id": record["queue"]["group"],
                        "queue_url": record["queue"].get("url"),
                    }
                page += 1
        else:
            raise KeyError(table)
    return rows


def expected_periods(
    emu: Emulator, periods: Iterable[tuple[str, dt.date, dt.date]], tz: str
) -> Table:
    """Rows of customers_unique_visitors_by_period for (period, first, last) tuples."""
    rows: Table = {}
    for period, first, last in periods:
        zone = ZoneInfo(tz)
        filters = {
            "from": dt.datetime.combine(first, dt.time(0), zone).isoformat(),
            "to": dt.datetime.combine(last, dt.time(23, 59, 59), zone).isoformat(),
        }
        summary = ask(emu, "customers/unique_visitors", {"timezone": tz, "filters": filters})[
            "summary"
        ]
        rows[(period, first)] = {"period_end": last, **summary}
    return rows


KEYS = {
    "chats_tags": ("tag",),
    "chats_groups": ("group_id",),
    "chats_greetings_conversion": ("greeting_id",),
    "chats_ranking": ("agent_id",),
    "agents_performance": ("agent_id",),
    "tags_chat_usage": ("tag",),
    "chats_forms": ("form_id",),
    "chats_form_answers": ("form_id", "field_id", "answer_id"),
    "chats_queued_visitors_left": ("chat_id",),
}


def loaded(loader: Any, table: str, hourly: bool = False, account: str = "demo") -> Table:
    """Rows of a loaded table, keyed like `expected`, without dlt's columns and null metrics."""
    records = loader.query(f"select * from lr.{table} where account_id = %s", account)
    if table == "customers_unique_visitors_by_period":
        key_columns: tuple[str, ...] = ("period", "period_start")
    else:
        key_columns = (
            "report_date",
            *(("report_hour",) if hourly and table not in KEYS_RANGE else ()),
            *KEYS.get(table, ()),
        )
    rows: Table = {}
    for record in records:
        key = tuple(record.pop(c) for c in key_columns)
        assert key not in rows, f"duplicate key {key} in {table}"
        rows[key] = {
            k: v
            for k, v in record.items()
            if not k.startswith("_dlt") and k != "account_id" and v is not None
        }
    return rows


KEYS_RANGE = {
    "chats_ranking",
    "agents_performance",
    "tags_chat_usage",
    "customers_unique_visitors",
    "chats_forms",
    "chats_form_answers",
    "chats_queued_visitors_left",
}


def assert_table_matches(got: Table, want: Table, table: str) -> None:
    """Same keys, and for every key the oracle's values (None/absent metrics allowed both ways)."""
    assert set(got) == set(want), (
        f"{table}: keys only loaded {sorted(set(got) - set(want))[:5]},"
        f" only expected {sorted(set(want) - set(got))[:5]}"
    )
    for key, values in want.items():
        row = got[key]
        for column, value in values.items():
            if value is None:
                assert row.get(column) is None, f"{table} {key} {column}"
                continue
            assert row.get(column) == value, (
                f"{table} {key} {column}: loaded {row.get(column)!r}, expected {value!r}"
            )
        # nothing loaded that the oracle does not have (except zero metrics omitted by the API)
        extra = {c for c in row if c not in values and row[c] not in (None, 0)}
        assert not extra, f"{table} {key}: loaded columns the oracle does not have: {extra}"
