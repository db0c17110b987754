"""The page's charts as Vega-Lite specs, written with Altair from one account's view.

Dates travel as `YYYY-MM-DDT00:00:00` (no offset): browsers read that as local midnight, so a
day stays the same day in every time zone (a bare `YYYY-MM-DD` is read as UTC midnight and
shows the previous day west of UTC). Each data mark carries a description (its `aria-label`)
that names its date or key and value, which the browser tests read back. Every chart takes the
width of its card (`width: container`), so none overflows it at any window width.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

import altair as alt

from .model import WEEKDAYS, AccountView, GroupView

HEIGHT = 190
CONTAINER: Final = "container"
FULL, PARTIAL = "Full week", "Partial week"
BLUE, PALE, RED = "#2b6cb0", "#bfd6ee", "#c05621"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
CONFIG: dict[str, Any] = {
    "font": FONT,
    "view": {"stroke": None},
    "axis": {"labelColor": "#4a5568", "titleColor": "#4a5568", "gridColor": "#edf2f7"},
    "legend": {"orient": "top", "title": None, "labelColor": "#4a5568"},
}
WEEK_AXIS_TITLE = "Week (starting Monday)"

Spec = dict[str, Any]


@dataclass(frozen=True)
class Weekly:
    """One weekly trend chart: its name, the weekly column, how it is drawn and written.

    Attributes:
        name: The chart's name on the page (`data-chart`).
        column: The kpi mart column (a key of the weekly series).
        title: The card's title and the y axis title.
        mark: `bar` (counts) or `line` (rates and averages).
        value_text: A Vega expression writing `datum.value` for people (in the mark's label).
        axis_format: The y axis's d3 format.
        color: The bars' or line's colour.
    """

    name: str
    column: str
    title: str
    mark: str
    value_text: str
    axis_format: str
    color: str = BLUE


SECONDS = "format(datum.value, '.1f') + ' s'"
WEEKLY = (
    Weekly("weekly_chats", "total_chats", "Chats", "bar", "format(datum.value, ',') + ' chats'",
           ",d"),
    Weekly("weekly_missed", "missed_chats", "Missed chats", "bar",
           "format(datum.value, ',') + ' missed chats'", ",d", RED),
    Weekly("weekly_satisfaction", "satisfaction_rate", "Satisfaction", "line",
           "format(datum.value, '.1%')", ".0%"),
    Weekly("weekly_first_response", "avg_first_response_time_seconds",
           "First response time (s)", "line", SECONDS, ",.0f"),
    Weekly("weekly_response", "avg_response_time_seconds", "Response time (s)", "line", SECONDS,
           ",.0f"),
    Weekly("weekly_duration", "avg_chat_duration_seconds", "Chat duration (s)", "line", SECONDS,
           ",.0f"),
    Weekly("weekly_queued", "queued_visitors", "Queued customers", "bar",
           "format(datum.value, ',') + ' queued customers'", ",d"),
    Weekly("weekly_abandonment", "queue_abandonment_rate", "Queue abandonment", "line",
           "format(datum.value, '.1%')", ".0%", RED),
    Weekly("weekly_queue_wait", "avg_queue_wait_seconds", "Average queue wait (s)", "line",
           SECONDS, ",.0f"),
)  # fmt: skip
# The weekly charts of a group (the `*_by_group` marts have these columns).
GROUP_WEEKLY = tuple(
    w
    for w in WEEKLY
    if w.name in ("weekly_chats", "weekly_missed", "weekly_satisfaction", "weekly_first_response")
)


def _data(rows: list[dict[str, Any]]) -> Any:
    return alt.Data(values=rows)  # type: ignore[no-untyped-call]


def _spec(chart: Any) -> Spec:
    """The chart's Vega-Lite spec (Altair validates it on the way)."""
    spec: Spec = chart.to_dict()
    return spec


def local_midnight(day: dt.date) -> str:
    """Return a date as the browser should read it: midnight in the reader's own time zone."""
    return f"{day.isoformat()}T00:00:00"


def group_chart(group_id: str, name: str) -> str:
    """The name of a group's chart on the page."""
    return f"group-{group_id}-{name}"


def charts(view: AccountView) -> dict[str, dict[str, Any]]:
    """Return the account's chart specs by name (only the charts it has data for)."""
    specs: dict[str, Spec] = {}
    specs.update(weekly_charts(view.weeks, WEEKLY))
    if view.daily:
        specs["daily_chats"] = daily_chats(view)
    if view.tags:
        specs["tags"] = tags(view)
    if view.greetings:
        specs["greetings"] = greetings(view)
    if view.groups:
        specs["groups"] = groups(view)
    if view.heatmap is not None:
        specs["heatmap"] = heatmap(view)
    for group in view.group_views:
        specs.update(group_charts(group))
    return specs


def group_charts(group: GroupView) -> dict[str, Spec]:
    """A group's weekly trends, named `group-<id>-<chart>`."""
    return {
        group_chart(group.group_id, name): spec
        for name, spec in weekly_charts(group.weeks, GROUP_WEEKLY).items()
    }


def weekly_charts(weeks: list[dict[str, Any]], which: tuple[Weekly, ...]) -> dict[str, Spec]:
    """The weekly trends that have at least one value in the window."""
    specs: dict[str, Spec] = {}
    for chart in which:
        rows = _week_rows(weeks, chart.column)
        if not rows:
            continue
        if chart.mark == "bar":
            specs[chart.name] = weekly_bars(weeks, rows, chart)
        else:
            specs[chart.name] = weekly_line(weeks, rows, chart)
    return specs


def _week_rows(weeks: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    return [
        {
            "week": local_midnight(w["week_start"]),
            "week_end": local_midnight(w["week_start"] + dt.timedelta(days=6)),
            "value": w[column],
            "period": PARTIAL if w["partial"] else FULL,
            "days": w["days_complete"],
        }
        for w in weeks
        if w[column] is not None
    ]


PERIOD_NOTE = (
    "(datum.period == 'Partial week'"
    " ? ' (partial week: ' + datum.days + ' of 7 days complete)' : '')"
)
WEEK_LABEL = "'Week of ' + timeFormat(toDate(datum.week), '%Y-%m-%d')"


AXIS_LABELS = 8


def week_ticks(weeks: list[dict[str, Any]]) -> list[dt.date]:
    """The week starts the x axis labels: Mondays, at most about `AXIS_LABELS` of them."""
    starts = [w["week_start"] for w in weeks]
    step = max(1, -(-len(starts) // AXIS_LABELS))
    return starts[::step]


def _x_axis(weeks: list[dict[str, Any]]) -> alt.X:
    # Ticks as date-time objects, which Vega-Lite reads in local time like the data.
    ticks = [{"year": d.year, "month": d.month, "date": d.day} for d in week_ticks(weeks)]
    return alt.X(
        "week:T",
        title=WEEK_AXIS_TITLE,
        scale=alt.Scale(padding=12),  # the first and last point are drawn whole
        axis=alt.Axis(format="%b %d", values=ticks, labelOverlap=True),
    )


def weekly_bars(weeks: list[dict[str, Any]], rows: list[dict[str, Any]], chart: Weekly) -> Spec:
    """A weekly count as bars spanning their week; a partial week is pale and labelled."""
    return _spec(
        alt.Chart(_data(rows), width=CONTAINER, height=HEIGHT)
        .transform_calculate(
            description=f"{WEEK_LABEL} + ': ' + {chart.value_text} + {PERIOD_NOTE}"
        )
        .mark_bar()
        .encode(
            x=_x_axis(weeks),
            x2="week_end:T",
            y=alt.Y("value:Q", title=chart.title, axis=alt.Axis(format=chart.axis_format)),
            y2=alt.Y2(datum=0),
            color=alt.Color(
                "period:N", scale=alt.Scale(domain=[FULL, PARTIAL], range=[chart.color, PALE])
            ),
            tooltip=[alt.Tooltip("description:N", title="")],
            description=alt.Description("description:N"),
        )
        .configure(**CONFIG)
    )


def weekly_line(weeks: list[dict[str, Any]], rows: list[dict[str, Any]], chart: Weekly) -> Spec:
    """A weekly rate or average: a line through full weeks, every week a point (partial hollow).

    A partial week is not joined to the line, so it never reads as a drop or a jump.
    """
    base = alt.Chart(_data(rows)).encode(
        x=_x_axis(weeks),
        y=alt.Y("value:Q", title=chart.title, axis=alt.Axis(format=chart.axis_format)),
    )
    line = base.transform_filter(f"datum.period == '{FULL}'").mark_line(
        color=chart.color, aria=False
    )
    points = (
        base.transform_calculate(
            description=f"{WEEK_LABEL} + ': ' + {chart.value_text} + {PERIOD_NOTE}"
        )
        .mark_point(size=50, strokeWidth=2, color=chart.color, opacity=1)
        .encode(
            fill=alt.Fill(
                "period:N", scale=alt.Scale(domain=[FULL, PARTIAL], range=[chart.color, "#ffffff"])
            ),
            tooltip=[alt.Tooltip("description:N", title="")],
            description=alt.Description("description:N"),
        )
    )
    # Without a full week the line would have no data (and Vega warns of an empty extent).
    layers = [line, points] if any(r["period"] == FULL for r in rows) else [points]
    return _spec(alt.layer(*layers).properties(width=CONTAINER, height=HEIGHT).configure(**CONFIG))


def daily_chats(view: AccountView) -> Spec:
    """Chats per day over the last 30 days up to the last loaded one."""
    rows = [
        {
            "day": local_midnight(d["day"]),
            "day_end": local_midnight(d["day"] + dt.timedelta(days=1)),
            "value": d["total_chats"],
            "missed": d["missed_chats"],
        }
        for d in view.daily
        if d["total_chats"] is not None
    ]
    return _spec(
        alt.Chart(_data(rows), width=CONTAINER, height=HEIGHT)
        .transform_calculate(
            description="timeFormat(toDate(datum.day), '%a %Y-%m-%d') + ': '"
            " + format(datum.value, ',') + ' chats'"
            " + (datum.missed == null ? '' : ', ' + format(datum.missed, ',') + ' missed')"
        )
        .mark_bar(color=BLUE)
        .encode(
            x=alt.X(
                "day:T",
                title="Day",
                axis=alt.Axis(
                    format="%b %d", labelOverlap=True, tickCount={"interval": "day", "step": 7}
                ),
            ),
            x2="day_end:T",
            y=alt.Y("value:Q", title="Chats", axis=alt.Axis(format=",d")),
            y2=alt.Y2(datum=0),
            tooltip=[alt.Tooltip("description:N", title="")],
            description=alt.Description("description:N"),
        )
        .configure(**CONFIG)
    )


def _bars(rows: list[dict[str, Any]], key: str, key_title: str, description: str) -> Spec:
    height = max(60, 22 * len(rows))
    return _spec(
        alt.Chart(_data(rows), width=CONTAINER, height=height)
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
        alt.Chart(_data(rows), width=CONTAINER, height=max(90, 30 * len(view.greetings)))
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
    """Average chats per weekday and local hour over the trend window.

    A cell is the weekday-hour's chats over the loaded days of that weekday; weekdays with no
    loaded day in the window have no cells.
    """
    rows = [
        {"weekday": c["weekday"], "hour": c["hour"], "average": c["average"], "chats": c["chats"],
         "days": c["days"]}
        for c in view.heatmap or []
        if c["days"]
    ]  # fmt: skip
    return _spec(
        alt.Chart(_data(rows), width=CONTAINER, height=7 * 24)
        .transform_calculate(
            description="datum.weekday + ' ' + (datum.hour < 10 ? '0' : '') + datum.hour"
            " + ':00: ' + format(datum.average, ',.2f') + ' chats on average ('"
            " + format(datum.chats, ',') + ' chats over ' + datum.days + ' days)'"
        )
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title="Hour of day", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("weekday:O", title=None, sort=list(WEEKDAYS)),
            color=alt.Color(
                "average:Q",
                scale=alt.Scale(scheme="blues"),
                legend=alt.Legend(orient="right", title="Avg chats"),
            ),
            tooltip=[alt.Tooltip("description:N", title="")],
            description=alt.Description("description:N"),
        )
        .configure(**CONFIG)
    )
