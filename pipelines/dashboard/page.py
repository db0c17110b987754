"""Fill the HTML template: tiles and tables as HTML, charts as embedded JSON, Vega inline.

The output depends only on the data and the options: no clock, stable ordering, one JSON
serialization (sorted keys, ASCII, `<`, `>` and `&` escaped so that no text of the data can
close a `<script>` element).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from string import Template
from typing import Any

from .model import METRICS, AccountView, Comparison, Metric

TEMPLATE = Path(__file__).with_name("template.html")
NO_VALUE = "–"


def embed_json(value: Any) -> str:
    """Serialize for a `<script type="application/json">` element: stable and unclosable."""
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def embed_script(code: str) -> str:
    """Make JavaScript safe inside a `<script>` element (no `</script` can end it early)."""
    # HTML's tag names ignore case: `</SCRIPT` would end the element too.
    return re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE).replace("<!--", "<\\!--")


# --- numbers as people read them -----------------------------------------------------------


def fixed(value: float, digits: int, grouped: bool = False) -> str:
    """Round as browsers do (`toFixed`, and so Vega's `format`): exact halves away from zero.

    Python's own formatting rounds exact halves to even (56.25 to `56.2`), which would make a
    tile and the chart beside it disagree in the last digit.
    """
    exact = Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{exact:,}" if grouped else f"{exact}"


def fmt(value: Any, kind: str) -> str:
    """Format a tile or table value: counts, rates, durations in seconds, hours, scores."""
    if value is None:
        return NO_VALUE
    if kind == "count":
        return fixed(value, 0, grouped=True)
    if kind == "rate":
        return f"{fixed(value * 100, 1)}%"
    if kind == "seconds":
        return duration(value)
    if kind == "hours":
        return f"{fixed(value, 1, grouped=True)} h"
    if kind == "score":
        return fixed(value, 3)
    raise ValueError(f"unknown kind {kind}")


def duration(seconds: float) -> str:
    """Return `42 s`, `3 min 05 s` or `2 h 07 min`."""
    whole = int(fixed(seconds, 0))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


@dataclass(frozen=True)
class Change:
    """How a value moved against the period before: text, and whether that is good."""

    text: str
    tone: str  # good, bad or neutral


def change(metric: Metric, current: Any, previous: Any) -> Change | None:
    """Return the change from `previous` to `current` (rates in points, the rest in percent)."""
    if current is None or previous is None:
        return None
    if metric.kind == "rate":
        delta = (current - previous) * 100
        unit = " pp"
    elif previous == 0:
        return None
    else:
        delta = (current - previous) / previous * 100
        unit = "%"
    shown = fixed(abs(delta), 1)
    if float(shown) == 0:
        return Change(f"±{shown}{unit}", "neutral")
    text = f"{'+' if delta > 0 else '-'}{shown}{unit}"
    rising = delta > 0
    tone = (
        "neutral"
        if metric.better is None
        else ("good" if rising == (metric.better == "up") else "bad")
    )
    return Change(text, tone)


# --- HTML -------------------------------------------------------------------------------------


def esc(text: Any) -> str:
    """Escape text for HTML content and attribute values."""
    return html.escape(str(text), quote=True)


def _range(start: dt.date, end: dt.date) -> str:
    return f"{start:%a %Y-%m-%d} – {end:%a %Y-%m-%d}"


def _period_title(comparison: Comparison) -> str:
    current, previous = comparison.current, comparison.previous
    if current is None:
        return f"No full {comparison.grain} loaded yet"
    if comparison.grain == "month":
        title = f"Last full month: {current.start:%B %Y}"
        before = f"{previous.start:%B %Y}" if previous else None
    else:
        title = f"Last full week: {_range(current.start, current.end)}"
        before = f"{previous.start:%Y-%m-%d} – {previous.end:%Y-%m-%d}" if previous else None
    if previous is None:
        return f"{title} (the {comparison.grain} before is not loaded)"
    if previous.partial:
        return f"{title}, against {before} (partly loaded: no change shown)"
    return f"{title}, against {before}"


def tiles(comparison: Comparison) -> str:
    """The KPI tiles of one grain: value, the value before, the change."""
    current, previous = comparison.current, comparison.previous
    parts = [f'<h3 class="period">{esc(_period_title(comparison))}</h3>']
    if current is None:
        return parts[0]
    parts.append(f'<div class="tiles" data-grain="{comparison.grain}">')
    for metric in METRICS:
        value = current.values.get(metric.key)
        before = previous.values.get(metric.key) if previous else None
        moved = change(metric, value, before) if previous and not previous.partial else None
        parts.append(
            f'<div class="tile" data-metric="{metric.key}">'
            f'<div class="label">{esc(metric.label)}</div>'
            f'<div class="value" data-value="{esc(embed_json(value))}">'
            f"{esc(fmt(value, metric.kind))}</div>"
        )
        if previous is not None:
            tone = moved.tone if moved else "neutral"
            moved_text = f" · {moved.text}" if moved else ""
            parts.append(
                f'<div class="change {tone}" data-previous="{esc(embed_json(before))}">'
                f"before: {esc(fmt(before, metric.kind))}{esc(moved_text)}</div>"
            )
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def leaderboard(view: AccountView) -> str:
    """The agents of the month, best ranking score first, as a table."""
    if not view.agents:
        return '<p class="empty">No agent data for this month.</p>'
    head = (
        "<thead><tr><th>#</th><th>Agent</th><th>Ranking score</th><th>Chats</th>"
        "<th>First response time</th><th>Chatting hours</th></tr></thead>"
    )
    rows = []
    for rank, agent in enumerate(view.agents, 1):
        hours = agent["chatting_time_seconds"]
        hours = hours / 3600 if hours is not None else None
        cells = [
            ("rank", rank, str(rank)),
            ("agent_id", agent["agent_id"], agent["agent_id"]),
            ("ranking_score", agent["ranking_score"], fmt(agent["ranking_score"], "score")),
            ("chats", agent["chats"], fmt(agent["chats"], "count")),
            (
                "avg_first_response_time_seconds",
                agent["avg_first_response_time_seconds"],
                fmt(agent["avg_first_response_time_seconds"], "seconds"),
            ),
            ("chatting_time_seconds", agent["chatting_time_seconds"], fmt(hours, "hours")),
        ]
        rows.append(
            "<tr>"
            + "".join(
                f'<td data-column="{c}" data-value="{esc(embed_json(v))}">{esc(t)}</td>'
                for c, v, t in cells
            )
            + "</tr>"
        )
    return f'<table class="leaderboard">{head}<tbody>{"".join(rows)}</tbody></table>'


def _chart(name: str, title: str, specs: dict[str, Any], empty: str, note: str = "") -> str:
    note_html = f'<p class="note">{note}</p>' if note else ""
    if name not in specs:
        return (
            f'<div class="card"><h3>{esc(title)}</h3>{note_html}'
            f'<p class="empty" data-empty="{name}">{esc(empty)}</p></div>'
        )
    return (
        f'<div class="card"><h3>{esc(title)}</h3>{note_html}'
        f'<div class="chart" data-chart="{name}" data-state="waiting"></div></div>'
    )


def _funnel_note(view: AccountView) -> str:
    shown = sum(g["displayed"] or 0 for g in view.greetings)
    accepted = sum(g["accepted"] or 0 for g in view.greetings)
    goals = sum(g["goals"] or 0 for g in view.greetings)
    rate = f" ({accepted / shown:.1%} accepted)" if shown else ""
    return esc(
        f"All greetings: {shown:,} displayed → {accepted:,} accepted{rate} → {goals:,} goals"
    )


def section(index: int, view: AccountView, specs: dict[str, Any], hidden: bool) -> str:
    """One account's part of the page."""
    month = f"{view.month_start:%B %Y}" if view.month_start else "no month"
    if view.month_partial:
        month += " (partly loaded)"
    window = f"{view.window_start:%Y-%m-%d} – {view.last_day:%Y-%m-%d}"
    zone = view.timezone or "UTC"
    heat_empty = (
        "Hourly data is not loaded for this account. To see chats by weekday and hour, load it"
        " with --distribution hour (into another --dataset, or reload this one with --refresh)."
    )
    parts = [
        f'<section class="account" data-index="{index}" data-account="{esc(view.account_id)}"'
        f"{' hidden' if hidden else ''}>",
        f'<p class="coverage">Account <strong>{esc(view.account_id)}</strong>: days'
        f" {view.first_day:%Y-%m-%d} – {view.last_day:%Y-%m-%d} loaded, in {esc(zone)}.</p>",
        tiles(view.week),
        tiles(view.month),
        f"<h2>Weekly trends, {esc(window)}</h2>",
        '<p class="note">Pale bars and hollow points are partial weeks (not every day loaded):'
        " they are not a drop.</p>",
        '<div class="grid">',
        _chart("weekly_chats", "Chats per week", specs, "No weekly data in this window."),
        _chart("weekly_satisfaction", "Satisfaction", specs, "No rated chats in this window."),
        _chart(
            "weekly_first_response",
            "Average first response time",
            specs,
            "No first responses in this window.",
        ),
        "</div>",
        f"<h2>{esc(month)}</h2>",
        '<div class="card wide"><h3>Agent leaderboard</h3>',
        "<p class=\"note\">Ranking score: LiveChat's Wilson score of the month's good and bad"
        " ratings, recomputed for the month.</p>",
        leaderboard(view),
        "</div>",
        '<div class="grid">',
        '<div class="stack">',
        _chart("tags", "Tag usage", specs, "No tag data for this month."),
        _chart("groups", "Chats by group", specs, "No group data for this month."),
        "</div>",
        _chart(
            "greetings",
            "Greeting funnel",
            specs,
            "No greeting data for this month.",
            _funnel_note(view) if view.greetings else "",
        ),
        "</div>",
        _chart(
            "heatmap",
            f"Chats by weekday and hour ({zone}), {window}",
            specs,
            heat_empty,
        ),
        "</section>",
    ]
    return "\n".join(parts)


def render(
    dataset: str,
    views: list[AccountView],
    specs: list[dict[str, Any]],
    bundle: str,
) -> str:
    """Return the whole page."""
    if len(views) > 1:
        options = "".join(
            f'<option value="{i}">{esc(v.account_id)}</option>' for i, v in enumerate(views)
        )
        selector = (
            '<label class="selector">Account <select id="account-select">'
            f"{options}</select></label>"
        )
    else:
        selector = ""
    sections = "\n".join(
        section(i, v, s, i > 0) for i, (v, s) in enumerate(zip(views, specs, strict=True))
    )
    data = "\n".join(
        f'<script type="application/json" id="specs-{i}">{embed_json(s)}</script>'
        for i, s in enumerate(specs)
    )
    last = max(v.last_day for v in views)
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=esc(f"LiveChat reports: {', '.join(v.account_id for v in views)}"),
        dataset=esc(dataset),
        through=f"{last:%Y-%m-%d}",
        selector=selector,
        sections=sections,
        data=data,
        bundle=embed_script(bundle),
    )
