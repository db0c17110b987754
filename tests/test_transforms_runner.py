"""The view runner: layer order, grain templates, macros."""

from __future__ import annotations

import re

import pytest

from transforms import MACRO, REFERENCE, _macro, load_views, render_grain


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
    staged = {v.name for v in views if v.layer == "staging"}
    for view in views:
        for kind, name in view.references():
            assert kind == "table" or name in names, (view.name, name)
        if view.layer == "staging":
            assert not [n for k, n in view.references() if k == "ref"], view.name
    assert len(staged) == 20


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
