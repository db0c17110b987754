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
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from string import Template
from typing import Any

from .charts import GROUP_WEEKLY, WEEKLY, Weekly, group_chart
from .combined import AllAccountsView
from .model import AccountView, GroupView
from .periods import GROUP_METRICS, METRICS, Comparison, Metric, Period

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


def period_name(period: Period, grain: str) -> str:
    """How a period is named in the picker and the titles."""
    if grain == "month":
        return f"{period.start:%B %Y}"
    return f"{period.start:%Y-%m-%d} – {period.end:%Y-%m-%d}"


def _partial_note(period: Period, grain: str) -> str:
    days = (period.end - period.start).days + 1
    return f"partial {grain}: {period.days_complete} of {days} days complete"


def _period_title(comparison: Comparison) -> str:
    current, previous = comparison.current, comparison.previous
    grain = comparison.grain
    if current is None:
        return f"No {grain} loaded yet"
    if grain == "month":
        title = f"Month: {current.start:%B %Y}"
    else:
        title = f"Week: {_range(current.start, current.end)}"
    if current.partial:
        title += f" ({_partial_note(current, grain)})"
    if previous is None:
        return f"{title}; the {grain} before is not loaded"
    before = period_name(previous, grain)
    if current.partial or previous.partial:
        shown = "partly loaded" if previous.partial else "a full one"
        return f"{title}, against {before} ({shown}: no change shown)"
    return f"{title}, against {before}"


def tiles(comparison: Comparison, metrics: tuple[Metric, ...] = METRICS) -> str:
    """The KPI tiles of one period: value, the value before, the change."""
    current, previous = comparison.current, comparison.previous
    if current is None:
        return ""
    partial = (
        f' data-partial="{esc(_partial_note(current, comparison.grain))}"'
        if current.partial
        else ""
    )
    compare = previous is not None and not previous.partial and not current.partial
    parts = [f'<div class="tiles" data-grain="{comparison.grain}"{partial}>']
    for metric in metrics:
        value = current.values.get(metric.key)
        before = previous.values.get(metric.key) if previous else None
        moved = change(metric, value, before) if compare else None
        mark = '<span class="badge">partial</span>' if current.partial else ""
        parts.append(
            f'<div class="tile" data-metric="{metric.key}">'
            f'<div class="label">{esc(metric.label)}{mark}</div>'
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


def periods(grain: str, choices: list[Comparison], metrics: tuple[Metric, ...] = METRICS) -> str:
    """The tiles of every period the reader can pick, the first shown, with their picker."""
    label = "Week" if grain == "week" else "Month"
    if not choices:
        return f'<h3 class="period">No {grain} loaded yet</h3>'
    shown = choices[0].current
    ordered = sorted(choices, key=lambda c: c.current.start if c.current else dt.date.min)
    ordered.reverse()  # newest first
    options = []
    blocks = []
    for choice in ordered:
        current = choice.current
        assert current is not None  # choices hold loaded periods only
        key = f"{current.start:%Y-%m-%d}"
        note = " (partial)" if current.partial else ""
        selected = " selected" if current is shown else ""
        options.append(
            f'<option value="{key}"{selected}>{esc(period_name(current, grain))}{note}</option>'
        )
        blocks.append(
            f'<div class="period-block" data-grain="{grain}" data-period="{key}"'
            f"{'' if current is shown else ' hidden'}>"
            f'<h3 class="period">{esc(_period_title(choice))}</h3>'
            f"{tiles(choice, metrics)}</div>"
        )
    picker = (
        f'<label class="picker">{label} <select class="period-select" data-grain="{grain}">'
        f"{''.join(options)}</select></label>"
    )
    return f'<div class="periods" data-grain="{grain}">{picker}{"".join(blocks)}</div>'


def _hours(seconds: Any) -> float | None:
    return seconds / 3600 if seconds is not None else None


def leaderboard(view: AccountView) -> str:
    """The agents of the month, best ranking score first, with their availability, as a table."""
    if not view.agents:
        return '<p class="empty">No agent data for this month.</p>'
    head = (
        "<thead><tr><th>#</th><th>Agent</th><th>Ranking score</th><th>Chats</th>"
        "<th>First response time</th><th>Chatting</th><th>Accepting chats</th>"
        "<th>Not accepting</th><th>Logged in</th></tr></thead>"
    )
    rows = []
    for rank, agent in enumerate(view.agents, 1):
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
        ]
        for column in HOUR_COLUMNS:
            cells.append((column, agent[column], fmt(_hours(agent[column]), "hours")))
        rows.append(
            "<tr>"
            + "".join(
                f'<td data-column="{c}" data-value="{esc(embed_json(v))}">{esc(t)}</td>'
                for c, v, t in cells
            )
            + "</tr>"
        )
    return (
        '<div class="scroll"><table class="leaderboard">'
        f"{head}<tbody>{''.join(rows)}</tbody></table></div>"
    )


HOUR_COLUMNS = (
    "chatting_time_seconds",
    "accepting_chats_time_seconds",
    "not_accepting_chats_time_seconds",
    "logged_in_time_seconds",
)


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


PARTIAL_NOTE = (
    '<p class="note">Pale bars and hollow points are partial weeks (not every day loaded):'
    " they are not a drop. The x axis names the Monday each week starts on.</p>"
)


def _weekly_grid(
    specs: dict[str, Any], weekly: tuple[Weekly, ...], prefix: Callable[[str], str]
) -> str:
    cards = [
        _chart(prefix(w.name), w.title.replace(" (s)", ""), specs, "No data in this window.")
        for w in weekly
    ]
    return '<div class="grid">' + "".join(cards) + "</div>"


def _group_selector(view: AccountView) -> str:
    if not view.group_views:
        return ""
    options = '<option value="account">All groups (the account)</option>' + "".join(
        f'<option value="group-{esc(g.group_id)}">Group {esc(g.group_id)}</option>'
        for g in view.group_views
    )
    return f'<label class="selector">Group <select class="group-select">{options}</select></label>'


def _group_scope(group: GroupView, specs: dict[str, Any], window: str) -> str:
    name = f"group-{group.group_id}"
    return "\n".join(
        [
            f'<div class="scope" data-scope="{esc(name)}" hidden>',
            f'<p class="coverage">Group <strong>{esc(group.group_id)}</strong>'
            " (the group breakdown's marts: chats, missed chats, satisfaction, first response"
            " time).</p>",
            periods("week", group.week_choices, GROUP_METRICS),
            periods("month", group.month_choices, GROUP_METRICS),
            f"<h2>Weekly trends of group {esc(group.group_id)}, {esc(window)}</h2>",
            PARTIAL_NOTE,
            _weekly_grid(specs, GROUP_WEEKLY, lambda n: group_chart(group.group_id, n)),
            "</div>",
        ]
    )


def _month_part(view: AccountView, specs: dict[str, Any]) -> list[str]:
    """An account's month: the agent leaderboard, tags, groups and the greeting funnel."""
    month = f"{view.month_start:%B %Y}" if view.month_start else "no month"
    if view.month_partial:
        month += " (partly loaded)"
    return [
        f"<h2>{esc(month)}</h2>",
        '<div class="card wide"><h3>Agent leaderboard and availability</h3>',
        "<p class=\"note\">Ranking score: LiveChat's Wilson score of the month's good and bad"
        " ratings, recomputed for the month. Hours: chatting, accepting chats, logged in but"
        " not accepting, and logged in in all.</p>",
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
    ]


def section(index: int, view: AccountView, specs: dict[str, Any], hidden: bool) -> str:
    """One account's part of the page."""
    window = f"{view.window_start:%Y-%m-%d} – {view.last_day:%Y-%m-%d}"
    zone = view.timezone or "UTC"
    heat_empty = (
        "Hourly data is not loaded for this account. To see chats by weekday and hour, load it"
        " with --distribution hour (into another --dataset, or reload this one with --refresh)."
    )
    daily_from = view.daily[0]["day"] if view.daily else view.last_day
    parts = [
        f'<section class="account" data-index="{index}" data-account="{esc(view.account_id)}"'
        f"{' hidden' if hidden else ''}>",
        f'<p class="coverage">Account <strong>{esc(view.account_id)}</strong>: days'
        f" {view.first_day:%Y-%m-%d} – {view.last_day:%Y-%m-%d} loaded, in {esc(zone)}.</p>",
        _group_selector(view),
        '<div class="scope" data-scope="account">',
        periods("week", view.week_choices),
        periods("month", view.month_choices),
        f"<h2>Weekly trends, {esc(window)}</h2>",
        PARTIAL_NOTE,
        _weekly_grid(specs, WEEKLY, lambda n: n),
        _chart(
            "daily_chats",
            f"Chats per day, {daily_from:%Y-%m-%d} – {view.last_day:%Y-%m-%d}",
            specs,
            "No daily data.",
        ),
        "</div>",
        *[_group_scope(g, specs, window) for g in view.group_views],
        *_month_part(view, specs),
        _chart(
            "heatmap",
            f"Average chats per weekday and hour ({zone}), {window}",
            specs,
            heat_empty,
            "Each cell is the chats of that hour averaged over the loaded days of that weekday"
            " (weekdays occur a different number of times in a window).",
        ),
        "</section>",
    ]
    return "\n".join(p for p in parts if p)


def all_section(view: AllAccountsView, specs: dict[str, Any]) -> str:
    """The all-accounts part of the page: summed tiles and weekly trends, hidden until chosen."""
    window = f"{view.window_start:%Y-%m-%d} – {view.last_day:%Y-%m-%d}"
    parts = [
        f'<section class="account" data-index="{ALL}" data-account="" hidden>',
        f'<p class="coverage">All {len(view.accounts)} accounts:'
        f" {esc(', '.join(view.accounts))}. Counts are added up; rates are ratios of the added"
        " counts (all good ratings over all ratings, all missed chats over all chats), never an"
        " average of the accounts' rates; average times are weighted by the chats each"
        " account's average is over. A period is partial when it is for any account.</p>",
        '<div class="scope" data-scope="account">',
        periods("week", view.week_choices),
        periods("month", view.month_choices),
        f"<h2>Weekly trends of all accounts, {esc(window)}</h2>",
        PARTIAL_NOTE,
        _weekly_grid(specs, WEEKLY, lambda n: n),
        "</div>",
        "</section>",
    ]
    return "\n".join(parts)


ALL = "all"


def render(
    dataset: str,
    views: list[AccountView],
    specs: list[dict[str, Any]],
    bundle: str,
    combined: tuple[AllAccountsView, dict[str, Any]] | None = None,
) -> str:
    """Return the whole page (with the all-accounts part when `combined` is given)."""
    if len(views) > 1:
        options = "".join(
            f'<option value="{i}">{esc(v.account_id)}</option>' for i, v in enumerate(views)
        )
        if combined:
            options += f'<option value="{ALL}">All accounts</option>'
        selector = (
            '<label class="selector">Account <select id="account-select">'
            f"{options}</select></label>"
        )
    else:
        selector = ""
    sections = [section(i, v, s, i > 0) for i, (v, s) in enumerate(zip(views, specs, strict=True))]
    data = [
        f'<script type="application/json" id="specs-{i}">{embed_json(s)}</script>'
        for i, s in enumerate(specs)
    ]
    if combined:
        sections.append(all_section(*combined))
        data.append(
            f'<script type="application/json" id="specs-{ALL}">{embed_json(combined[1])}</script>'
        )
    last = max(v.last_day for v in views)
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=esc(f"LiveChat reports: {', '.join(v.account_id for v in views)}"),
        dataset=esc(dataset),
        through=f"{last:%Y-%m-%d}",
        selector=selector,
        sections="\n".join(sections),
        data="\n".join(data),
        bundle=embed_script(bundle),
    )
