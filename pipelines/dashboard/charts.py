"""The page's charts as Vega-Lite specs, written with Altair from one account's view.

Dates travel as `YYYY-MM-DDT00:00:00` (no offset): browsers read that as local midnight, so a
day stays the same day in every time zone (a bare `YYYY-MM-DD` is read as UTC midnight and
shows the previous day west of UTC). Each data mark carries a description (its `aria-label`)
that names its date or key and value, which the browser tests read back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import altair as alt

from .model import WEEKDAYS, AccountView

WIDTH, HEIGHT = 520, 190
FULL, PARTIAL = "Full week", "Partial week"
BLUE, PALE = "#2b6cb0", "#bfd6ee"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
CONFIG: dict[str, Any] = {
    "font": FONT,
    "view": {"stroke": None},
    "axis": {"labelColor": "#4a5568", "titleColor": "#4a5568", "gridColor": "#edf2f7"},
    "legend": {"orient": "top", "title": None, "labelColor": "#4a5568"},
}


Spec = dict[str, Any]


def _data(rows: list[dict[str, Any]]) -> Any:
    return alt.Data(values=rows)  # type: ignore[no-untyped-call]


def _spec(chart: Any) -> Spec:
    """The chart's Vega-Lite spec (Altair validates it on the way)."""
    spec: Spec = chart.to_dict()
    return spec


def local_midnight(day: dt.date) -> str:
    """Return a date as the browser should read it: midnight in the reader's own time zone."""
    return f"{day.isoformat()}T00:00:00"


def charts(view: AccountView) -> dict[str, dict[str, Any]]:
    """Return the account's chart specs by name (only the charts it has data for)."""
    specs: dict[str, Spec] = {}
    if view.weeks:
        specs["weekly_chats"] = weekly_chats(view)
        if any(w["satisfaction_rate"] is not None for w in view.weeks):
            specs["weekly_satisfaction"] = weekly_line(
                view, "satisfaction_rate", "Satisfaction", "format(datum.value, '.1%')", ".0%"
            )
        if any(w["avg_first_response_time_seconds"] is not None for w in view.weeks):
            specs["weekly_first_response"] = weekly_line(
                view,
                "avg_first_response_time_seconds",
                "First response time (s)",
                "format(datum.value, '.1f') + ' s'",
                ",.0f",
            )
    if view.tags:
        specs["tags"] = tags(view)
    if view.greetings:
        specs["greetings"] = greetings(view)
    if view.groups:
        specs["groups"] = groups(view)
    if view.heatmap is not None:
        specs["heatmap"] = heatmap(view)
    return specs


def _week_rows(view: AccountView, column: str) -> list[dict[str, Any]]:
    return [
        {
            "week": local_midnight(w["week_start"]),
            "week_end": local_midnight(w["week_start"] + dt.timedelta(days=6)),
            "value": w[column],
            "period": PARTIAL if w["partial"] else FULL,
            "days": w["days_loaded"],
        }
        for w in view.weeks
        if w[column] is not None
    ]


PERIOD_NOTE = (
    "(datum.period == 'Partial week' ? ' (partial week: ' + datum.days + ' of 7 days loaded)' : '')"
)
WEEK_LABEL = "'Week of ' + timeFormat(toDate(datum.week), '%Y-%m-%d')"


AXIS_LABELS = 8


def week_ticks(view: AccountView) -> list[dt.date]:
    """The week starts the x axis labels: Mondays, at most about `AXIS_LABELS` of them."""
    starts = [w["week_start"] for w in view.weeks]
    step = max(1, -(-len(starts) // AXIS_LABELS))
    return starts[::step]


def _x_axis(view: AccountView) -> alt.X:
    # Ticks as date-time objects, which Vega-Lite reads in local time like the data.
    ticks = [{"year": d.year, "month": d.month, "date": d.day} for d in week_ticks(view)]
    return alt.X(
        "week:T",
        title=None,
        scale=alt.Scale(padding=12),  # the first and last point are drawn whole
        axis=alt.Axis(format="%b %d", values=ticks, labelOverlap=True),
    )


def weekly_chats(view: AccountView) -> Spec:
    """Chats per week as bars spanning their week; a partial week is pale and labelled."""
    data = _data(_week_rows(view, "total_chats"))
    return _spec(
        alt.Chart(data, width=WIDTH, height=HEIGHT)
        .transform_calculate(
            description=f"{WEEK_LABEL} + ': ' + format(datum.value, ',') + ' chats' + {PERIOD_NOTE}"
        )
        .mark_bar()
        .encode(
            x=_x_axis(view),
            x2="week_end:T",
            y=alt.Y("value:Q", title="Chats"),
            y2=alt.Y2(datum=0),
            color=alt.Color(
                "period:N", scale=alt.Scale(domain=[FULL, PARTIAL], range=[BLUE, PALE])
            ),
            tooltip=[alt.Tooltip("description:N", title="")],
            description=alt.Description("description:N"),
        )
        .configure(**CONFIG)
    )


def weekly_line(
    view: AccountView, column: str, title: str, value_text: str, axis_format: str
) -> Spec:
    """A weekly rate or average: a line through full weeks, every week a point (partial hollow).

    A partial week is not joined to the line, so it never reads as a drop or a jump.
    """
    data = _data(_week_rows(view, column))
    base = alt.Chart(data, width=WIDTH, height=HEIGHT).encode(
        x=_x_axis(view), y=alt.Y("value:Q", title=title, axis=alt.Axis(format=axis_format))
    )
    line = base.transform_filter(f"datum.period == '{FULL}'").mark_line(color=BLUE, aria=False)
    points = (
        base.transform_calculate(description=f"{WEEK_LABEL} + ': ' + {value_text} + {PERIOD_NOTE}")
        .mark_point(size=50, strokeWidth=2, color=BLUE, opacity=1)
        .encode(
            fill=alt.Fill(
                "period:N", scale=alt.Scale(domain=[FULL, PARTIAL], range=[BLUE, "#ffffff"])
            ),
            tooltip=[alt.Tooltip("description:N", title="")],
            description=alt.Description("description:N"),
        )
    )
    return _spec(alt.layer(line, points).configure(**CONFIG))


def _bars(rows: list[dict[str, Any]], key: str, key_title: str, description: str) -> Spec:
    height = max(60, 22 * len(rows))
    return _spec(
        alt.Chart(_data(rows), width=WIDTH - 120, height=height)
        .transform_calculate(description=description)
        .mark_bar(color=BLUE)
        .encode(
            y=alt.Y(f"{key}:N", title=key_title, sort=None, axis=alt.Axis(labelLimit=160)),
            x=alt.X("chats:Q", title="Chats", axis=alt.Axis(tickCount=5)),
            tooltip=[alt.Tooltip("description:N", title="")],
            description=alt.Description("description:N"),
        )
        .configure(**CONFIG)
    )


def tags(view: AccountView) -> Spec:
    """Chats per tag in the month, most used first."""
    rows = [{"tag": t["tag"], "chats": t["chats"], "share": t["share_of_chats"]} for t in view.tags]
    return _bars(
        rows,
        "tag",
        "Tag",
        "datum.tag + ': ' + format(datum.chats, ',') + ' chats'"
        " + (datum.share == null ? '' : ' (' + format(datum.share, '.1%') + ' of chats)')",
    )


def groups(view: AccountView) -> Spec:
    """Chats per group in the month, most first."""
    rows = [
        {"group": f"Group {g['group_id']}", "group_id": g["group_id"], "chats": g["chats"],
         "share": g["share_of_chats"]}
        for g in view.groups
    ]  # fmt: skip
    return _bars(
        rows,
        "group",
        "Group",
        "datum.group + ': ' + format(datum.chats, ',') + ' chats'"
        " + (datum.share == null ? '' : ' (' + format(datum.share, '.1%') + ' of chats)')",
    )


FUNNEL = (("displayed", "Displayed"), ("accepted", "Accepted"), ("goals", "Goals"))


def greetings(view: AccountView) -> Spec:
    """Each greeting's funnel in the month: displayed, accepted, goals, side by side."""
    rows = [
        {"greeting": f"Greeting {g['greeting_id']}", "greeting_id": g["greeting_id"],
         "step": label, "order": index, "value": g[column]}
        for g in view.greetings
        for index, (column, label) in enumerate(FUNNEL)
    ]  # fmt: skip
    labels = [label for _, label in FUNNEL]
    return _spec(
        alt.Chart(_data(rows), width=WIDTH - 120, height=max(90, 30 * len(view.greetings)))
        .transform_calculate(
            description="datum.greeting + ', ' + datum.step + ': ' + format(datum.value, ',')"
        )
        .mark_bar()
        .encode(
            y=alt.Y("greeting:N", title=None, sort=None, axis=alt.Axis(labelLimit=160)),
            yOffset=alt.YOffset("step:N", sort=labels),
            x=alt.X("value:Q", title="Greetings"),
            color=alt.Color(
                "step:N",
                sort=labels,
                scale=alt.Scale(domain=labels, range=[PALE, BLUE, "#2f855a"]),
            ),
            tooltip=[alt.Tooltip("description:N", title="")],
            description=alt.Description("description:N"),
        )
        .configure(**CONFIG)
    )


def heatmap(view: AccountView) -> Spec:
    """Chats by weekday and local hour over the trend window (every cell drawn, zeros too)."""
    rows = [
        {"weekday": c["weekday"], "hour": c["hour"], "chats": c["chats"]}
        for c in view.heatmap or []
    ]
    return _spec(
        alt.Chart(_data(rows), width=WIDTH + 200, height=7 * 24)
        .transform_calculate(
            description="datum.weekday + ' ' + (datum.hour < 10 ? '0' : '') + datum.hour"
            " + ':00: ' + format(datum.chats, ',') + ' chats'"
        )
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title="Hour of day", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("weekday:O", title=None, sort=list(WEEKDAYS)),
            color=alt.Color(
                "chats:Q",
                title="Chats",
                scale=alt.Scale(scheme="blues"),
                legend=alt.Legend(orient="right", title="Chats"),
            ),
            tooltip=[alt.Tooltip("description:N", title="")],
            description=alt.Description("description:N"),
        )
        .configure(**CONFIG)
    )
