"""Write the package files that restate the source's registry: the sources YAML and the table list.

`models/staging/_livechat__sources.yml` declares every table a load writes, with the columns and
types the source gives it (a table not loaded yet reads as an empty relation with them), and a
`grain` test on its key; `macros/livechat_tables.sql` lists the tables that
`stg_livechat__unfinished_loads` looks through. Both are generated from `sources.livechat.reports`,
never edited by hand; a test fails when the committed files differ from what this module writes.

    python -m transforms.generate          # rewrite both files
    python -m transforms.generate --check  # exit 1 when they are stale
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sources.livechat.lineage import LINEAGE_TABLE
from sources.livechat.reports import ReportSpec, TableSpec, every_report, primary_key
from transforms.tables import LOADS_COLUMNS, account_tables, report_tables

PROJECT_DIR = Path(__file__).parent
SOURCES_FILE = PROJECT_DIR / "models" / "staging" / "_livechat__sources.yml"
TABLES_MACRO = PROJECT_DIR / "macros" / "livechat_tables.sql"

SOURCES_HEADER = """\
version: 2

# Generated from the source's registry (sources/livechat/reports.py) by
# `python -m transforms.generate`; do not edit by hand (a test compares the two).
# The tables dlt loads, in the dataset the pipeline writes. dlt's dbt runner passes that dataset
# as `source_dataset_name`; a project that installs this package sets `livechat_schema`.
# A table not loaded yet reads as an empty relation with these columns and types.
sources:
  - name: livechat
    schema: "{{ var('livechat_schema', var('source_dataset_name', 'livechat_reports')) }}"
    tables:
"""
LOADS_ENTRY = """\
      - name: _dlt_loads
        description: dlt's record of every completed load (written last by each load).
        config:
          loaded_at_field: inserted_at
          freshness:
            warn_after: {count: 2, period: day}
            error_after: {count: 7, period: day}
"""
LINEAGE_DESCRIPTION = "One row per API request a load made (lineage)."
ACCOUNTS_ENTRY = """\
      - name: account_loads
        description: >
          One row per load of an account, appended with the load's rows: the timezone,
          distribution and filters it loaded with (what the account's rows mean), the account
          ids configured when it ran (a JSON list), and when it ran (the run's clock).
        data_tests:
          - grain:
              arguments:
                columns: [account_id, _dlt_load_id]
"""


def _filters_text(filters: Mapping[str, Any], prefix: str = "filters") -> list[str]:
    """`{"a": {"b": False}}` as `filters.a.b = false`, one text per leaf."""
    texts: list[str] = []
    for name, value in filters.items():
        if isinstance(value, Mapping):
            texts.extend(_filters_text(value, f"{prefix}.{name}"))
        else:
            texts.append(f"{prefix}.{name} = {json.dumps(value)}")
    return texts


# The Reports API's documentation of each method (the stable page documents v3.6, the version
# the source requests), by the anchor of the method's heading there.
API_DOCS = "https://platform.text.com/docs/data-reporting/reports-api"
METHOD_ANCHORS = {
    "chats/duration": "duration",
    "chats/tags": "tags",
    "chats/total_chats": "total-chats",
    "chats/ratings": "ratings",
    "chats/ranking": "ranking",
    "chats/engagement": "engagement",
    "chats/greetings_conversion": "greetings-conversion",
    "chats/forms": "forms",
    "chats/response_time": "response-time",
    "chats/first_response_time": "first-response-time",
    "chats/groups": "group-chats-count",
    "agents/availability": "availability",
    "agents/performance": "performance",
    "customers/unique_visitors": "unique-visitors",
    "chats/queued_visitors": "queued-visitors",
    "chats/queued_visitors_left": "queued-visitors-left",
    "tags/chat_usage": "chat-usage",
}
# What each loaded table holds, by its name (a per-group table says it of its base table).
TABLE_SUMMARIES = {
    "agents_availability": "Hours the chat was available per day (`hours`); loaded hourly,"
    " minutes per hour (`minutes`).",
    "agents_performance": "Per agent and day: chats, good and bad ratings, chats with a first"
    " response and their average first response time, and the seconds the agent spent"
    " chatting, logged in, accepting and not accepting chats.",
    "chats_duration": "Average chat duration per day (or hour), in seconds: `duration` over"
    " `count` chats, and `agents_chatting_duration`.",
    "chats_engagement": "Chats per day (or hour) by who started them: a customer from a"
    " greeting, a customer without one, or an agent.",
    "chats_first_response_time": "Average first response time per day (or hour), in seconds"
    " (`first_response_time`), over `count` chats.",
    "chats_form_answers": "Per form, field, answer and day: how often the answer was given.",
    "chats_forms": "Per form and day: the chats with the form (`count`) and the form's group.",
    "chats_greetings_conversion": "Per greeting and day (or hour): how often it was"
    " `displayed`, `accepted` (a chat started), `canceled` (dismissed), and the `goals` it led"
    " to; the API returns at most 100 greetings a day.",
    "chats_groups": "Chats per group and day (or hour).",
    "chats_missed_chats": "Missed chats (no agent response) per day (or hour): `total`, and"
    " the `continuous` ones among them.",
    "chats_queued_visitors": "Queued visitors per day (or hour): `queued_*` and `left_queue_*`"
    " (left without a chat), each a count and the minimum, maximum and average wait in"
    " seconds.",
    "chats_queued_visitors_left": "One row per visitor who left the queue without a chat, per"
    " day: the visitor and the wait (`queue_duration`, seconds).",
    "chats_ranking": "Per agent and day: good and bad ratings and LiveChat's ranking `score`"
    " (0-1, a Wilson score).",
    "chats_ratings": "Chats per day (or hour), and how many were rated `good` and `bad`.",
    "chats_response_time": "Average response time per day (or hour), in seconds"
    " (`response_time`), over `count` chats.",
    "chats_tags": "Chats per tag and day (or hour).",
    "chats_total_chats": "Chats per day (or hour): `total`, and the `continuous` ones among them.",
    "customers_unique_visitors": "Unique visitors and page views per day.",
    "customers_unique_visitors_by_period": "Unique visitors and page views of each whole week"
    " and month (`period`), the API's answer for the period, not a sum of its days.",
    "tags_chat_usage": "Chats per tag and day.",
}


def method_url(path: str) -> str:
    """The documentation of a Reports API method, e.g. `...reports-api#total-chats`."""
    return f"{API_DOCS}#{METHOD_ANCHORS[path]}"


def description(spec: ReportSpec, table: TableSpec) -> str:
    """What a loaded table holds: its report (and the method's documentation), then its rows."""
    text = f"The {spec.path} report ({method_url(spec.path)})"
    if spec.fixed_filters:
        text += " with " + ", ".join(_filters_text(spec.fixed_filters))
    if table.grouped:
        text += ", one row per group (`group_id`, the group filter of each request)"
        for column, renamed in table.group_renames.items():
            text += f"; the answer's own `{column}` is `{renamed}`"
    return f"{text}. {TABLE_SUMMARIES[table.base or table.name]}"


def _description_lines(text: str) -> list[str]:
    """`description: >` and the text folded under it (no quoting rules to get wrong)."""
    indent = " " * 10
    folded = textwrap.wrap(
        text, 99, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    )
    return ["        description: >", *folded]


def _grain_test(spec: ReportSpec, table: TableSpec) -> list[str]:
    key = primary_key(table, spec, hourly=False)
    lines = [
        "        data_tests:",
        "          - grain:",
        "              arguments:",
        f"                columns: [{', '.join(key)}]",
    ]
    if spec.hourly:
        lines.append("                nullable_columns: [report_hour]")
    return lines


def _columns(columns: Mapping[str, str]) -> list[str]:
    lines = ["        columns:"]
    lines += [f"          - {{name: {n}, data_type: {t}}}" for n, t in columns.items()]
    return lines


def sources_yaml() -> str:
    """Return the text of `_livechat__sources.yml` for the registry as it is."""
    declared = report_tables()
    specs = {t.name: (spec, t) for spec in every_report() for t in spec.tables}
    entries = [LOADS_ENTRY + "\n".join(_columns(LOADS_COLUMNS)) + "\n"]
    entries += [
        ACCOUNTS_ENTRY + "\n".join(_columns(columns)) + "\n"
        for columns in account_tables().values()
    ]
    for name, columns in declared.items():
        lines = [f"      - name: {name}"]
        if name == LINEAGE_TABLE:
            lines.append(f"        description: {LINEAGE_DESCRIPTION}")
        else:
            spec, table = specs[name]
            lines += _description_lines(description(spec, table))
            lines += _grain_test(spec, table)
        lines += _columns(columns)
        entries.append("\n".join(lines) + "\n")
    return SOURCES_HEADER + "".join(entries)


def tables_macro() -> str:
    """Return the text of `macros/livechat_tables.sql`: every loaded table, keyed by day or not."""
    rows = [
        f"        '{name}': {'true' if 'report_date' in columns else 'false'},"
        for name, columns in report_tables().items()
    ]
    return (
        "{#-\n"
        "  Generated from the source's registry by `python -m transforms.generate`; do not edit.\n"
        "  The loaded tables whose rows a load writes, and whether they are keyed by day: what\n"
        "  stg_livechat__unfinished_loads looks through for rows of loads that did not finish.\n"
        "-#}\n"
        "{% macro livechat_tables() -%}\n"
        "    {{ return({\n" + "\n".join(rows) + "\n    }) }}\n"
        "{%- endmacro %}\n"
    )


def generated() -> dict[Path, str]:
    """Every generated file and the text it must hold."""
    return {SOURCES_FILE: sources_yaml(), TABLES_MACRO: tables_macro()}


def stale() -> list[Path]:
    """The generated files whose committed text differs from what the registry gives."""
    return [
        path
        for path, text in generated().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def main(argv: list[str] | None = None) -> int:
    """Rewrite the generated files, or with `--check` say which are stale (exit 1)."""
    parser = argparse.ArgumentParser(prog="python -m transforms.generate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check; exit 1 when stale")
    args = parser.parse_args(argv)
    if args.check:
        paths = stale()
        for path in paths:
            print(f"{path.relative_to(PROJECT_DIR.parent)} is stale:"
                  " run `python -m transforms.generate`", file=sys.stderr)  # fmt: skip
        return 1 if paths else 0
    for path, text in generated().items():
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
