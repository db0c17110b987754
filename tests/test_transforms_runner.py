"""The view runner: layer order, grain templates, macros."""

from __future__ import annotations

import re

import pytest

from transforms import (
    MACRO,
    REFERENCE,
    TransformResult,
    View,
    _in_dependency_order,
    _macro,
    load_views,
    render_grain,
)
from transforms.tables import empty_relation, report_tables

UNFINISHED = "stg_livechat__unfinished_loads"


def test_views_come_in_layer_order_with_templates_expanded() -> None:
    views = load_views()
    layers = [v.layer for v in views]
    assert layers == sorted(layers, key=["staging", "intermediate", "marts"].index)
    names = {v.name for v in views}
    assert {
        "kpi_weekly",
        "kpi_monthly",
        "agent_scorecard_daily",
        "agent_scorecard_monthly",
        "tag_usage_weekly",
        "tag_usage_monthly",
    } <= names
    assert not [v for v in views if "{" in v.name]
    staged = [v.name for v in views if v.layer == "staging"]
    built: set[str] = set()
    for view in views:
        for kind, name in view.references():
            assert kind == "table" or name in built, (view.name, name)
        if view.layer == "staging":
            # staging reads loaded tables, and the unfinished loads to leave out
            assert {n for k, n in view.references() if k == "ref"} <= {UNFINISHED}, view.name
        built.add(view.name)
    assert UNFINISHED in staged and len(staged) == 21


def test_every_day_table_leaves_out_the_days_of_unfinished_loads() -> None:
    """Each staging view filters on the unfinished loads, which list every table loaded."""
    views = {v.name: v for v in load_views()}
    listed = {n for k, n in views[UNFINISHED].references() if k == "table"}
    assert listed == set(report_tables()) | {"_dlt_loads"}
    for name, view in views.items():
        if view.layer != "staging" or name == UNFINISHED:
            continue
        (table,) = [n for k, n in view.references() if k == "table" and n != "_dlt_loads"]
        keyed_by_day = "report_date" in report_tables()[table]
        assert ("unfinished.report_date = loaded.report_date" in view.sql) is keyed_by_day, name
        assert ("status = 0" in view.sql) is not keyed_by_day, name


def test_views_of_a_layer_come_after_the_views_they_read() -> None:
    views = [
        View("marts", "b", "select * from {{ ref('c') }}"),
        View("marts", "a", "select 1"),
        View("marts", "c", "select * from {{ ref('a') }}"),
    ]
    assert [v.name for v in _in_dependency_order(views)] == ["a", "c", "b"]
    with pytest.raises(ValueError, match="cycle: x, y"):
        _in_dependency_order(
            [View("marts", "x", "{{ ref('y') }}"), View("marts", "y", "{{ ref('x') }}")]
        )


def test_a_table_not_loaded_reads_as_an_empty_table_with_its_declared_columns() -> None:
    import duckdb

    sql = empty_relation(report_tables()["chats_queued_visitors_left"])
    with duckdb.connect() as db:
        relation = db.sql(f"select * from ({sql}) as t")
        types = dict(zip(relation.columns, map(str, relation.types), strict=True))
        assert relation.fetchall() == []
    assert types["report_date"] == "DATE" and types["queue_duration"] == "DOUBLE"
    assert types["queue_started_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["queue_group_id"] == "BIGINT" and types["_dlt_load_id"] == "VARCHAR"
    assert list(types)[:3] == ["account_id", "report_date", "chat_id"]


def test_grain_templates_render_each_grain() -> None:
    sql = "select {{ period_start('d') }} as p, {{ period_days('p') }} as n, '{{ period }}' as k from x as {{ period_column }}"
    assert (
        render_grain(sql, "weekly")
        == "select {{ week_start('d') }} as p, 7 as n, 'week' as k from x as week_start"
    )
    assert render_grain(sql, "daily") == "select d as p, 1 as n, 'day' as k from x as report_date"
    assert "{{ days_in_month('p') }}" in render_grain(sql, "monthly")


def test_every_template_placeholder_is_rendered() -> None:
    for view in load_views():
        rendered = MACRO.sub(_macro, REFERENCE.sub(lambda m: m.group(2), view.sql))
        leftovers = re.findall(r"\{\{[^}]*\}\}", rendered)
        assert not leftovers, (view.name, leftovers)


def test_unknown_macros_are_refused() -> None:
    match = MACRO.search("{{ quarter_start('d') }}")
    assert match is not None
    with pytest.raises(ValueError, match="unknown SQL macro `quarter_start`"):
        _macro(match)


def test_the_note_is_one_line_naming_tables_without_data_and_skipped_views() -> None:
    assert TransformResult(("kpi_daily",)).note is None
    result = TransformResult(
        ("kpi_daily",),
        skipped=(("my_view", "needs my_table, which no load writes and no view builds"),),
        no_data=("chats_engagement", "chats_tags"),
    )
    assert result.note == (
        "No data yet for: chats_engagement, chats_tags (the views read them as empty)."
        " Views skipped: my_view needs my_table, which no load writes and no view builds."
    )
