"""Every Reports API v3.6 report, computed from the synthetic license's raw events.

Each builder takes a `Selection` (the query plus the license days it touches and the clock) and
returns the response body in the shape of the published sample, without the `request` echo.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from . import filters
from .buckets import Bucket, bucket_key, buckets, key_in
from .license import FORMS, Chat, DayData, GreetingEvent, QueueEntry, StatusInterval
from .query import AGENTS_DISTRIBUTIONS, CHATS_DISTRIBUTIONS, Query

WILSON_Z = 2.69


def wilson_score(good: int, bad: int) -> float:
    """Return LiveChat's agent ranking score (a Wilson lower bound with Z = 2.69).

    Raises:
        ValueError: When there are no rated chats.
    """
    n = good + bad
    if n == 0:
        raise ValueError("the ranking score needs at least one rated chat")
    p = good / n
    zzfn = WILSON_Z * WILSON_Z / (4 * n)
    return (p + 2 * zzfn - WILSON_Z * math.sqrt((zzfn / n + p * (1 - p)) / n)) / (1 + 4 * zzfn)


@dataclass(frozen=True)
class Selection:
    """What a report is computed from: the query, the license days it touches, the clock."""

    query: Query
    days: tuple[DayData, ...]
    now: int
    page_size: int

    def in_range(self, instant: int) -> bool:
        """Whether an instant lies in the requested range and is not in the future."""
        return self.query.start <= instant <= self.query.end and instant <= self.now

    def key(self, instant: int) -> str:
        """Return the bucket key of an instant."""
        q = self.query
        if q.distribution != "day-hours":  # its buckets hold no instants
            found = key_in(self.buckets(), self._starts, instant)
            if found is not None:
                return found
        return bucket_key(q.local(instant), q.distribution)

    def buckets(self) -> tuple[Bucket, ...]:
        """Return the buckets of the requested range."""
        q = self.query
        return buckets(q.start, q.end, q.timezone, q.distribution)

    @cached_property
    def _starts(self) -> tuple[int, ...]:
        return tuple(b.start for b in self.buckets())

    def instant(self, chat: Chat) -> int | None:
        """When a chat counts: its start, or when its form was sent if forms set the range."""
        pair = self.query.filters.pair
        if pair is not None and pair.form_type is not None:
            return chat.form_submitted_at(pair.form_type)
        return chat.started_at

    def visible(self, chat: Chat | None) -> bool:
        """Whether a chat is in the reports yet: chats appear when they end."""
        return chat is not None and chat.ended_at <= self.now

    def chats(self) -> list[Chat]:
        """Chats that count in range, have ended by `now` and pass the filters.

        With `filters.greetings.from/to` as the range, only chats started from a greeting count.
        """
        f = self.query.filters
        greetings_only = self.query.time_key == "greetings"
        selected = []
        for day in self.days:
            for chat in day.chats:
                if chat.ended_at > self.now or (greetings_only and chat.greeting_id is None):
                    continue
                instant = self.instant(chat)
                if instant is None or not self.in_range(instant):
                    continue
                if f.chat_tests and not f.chat(chat, self.now):
                    continue
                selected.append(chat)
        return selected

    def greetings(self) -> list[GreetingEvent]:
        """Greeting displays in range that pass the filters."""
        f = self.query.filters
        return [
            e for day in self.days for e in day.greetings if self.in_range(e.at) and f.greeting(e)
        ]

    def rating(self, chat: Chat) -> str | None:
        """The chat's rating if it has arrived by `now`."""
        return chat.rating if chat.rated_at is not None and chat.rated_at <= self.now else None

    def statuses(self) -> list[StatusInterval]:
        """Agent status intervals of agents that pass the agents and groups filters."""
        f = self.query.filters
        return [s for day in self.days for s in day.statuses if f.agent(s.agent)]

    def clip(self, start: int, end: int) -> tuple[int, int]:
        """Clip an interval (end exclusive) to the requested range and the clock."""
        return max(start, self.query.start), min(end, self.query.end + 1, self.now)

    def queue(self) -> list[QueueEntry]:
        """Queue entries that started in range and were over by `now`."""
        return [
            e
            for day in self.days
            for e in day.queue
            if self.in_range(e.started_at) and e.started_at + e.duration <= self.now
        ]


def _series(
    sel: Selection,
    items: Iterable[Any],
    instant: Callable[[Any], int | None],
    record: Callable[[list[Any]], dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Group items into every bucket of the range (empty ones too) and build each record."""
    grouped: dict[str, list[Any]] = defaultdict(list)
    for item in items:
        at = instant(item)
        if at is not None:
            grouped[sel.key(at)].append(item)
    return {b.key: record(grouped.get(b.key, [])) for b in sel.buckets()}


def _nonzero(**metrics: int) -> dict[str, int]:
    return {k: v for k, v in metrics.items() if v}


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def duration(sel: Selection) -> dict[str, Any]:
    """chats/duration: average chat and agents' chatting duration (seconds) per bucket."""
    chats = sel.chats()

    def record(items: list[Chat]) -> dict[str, Any]:
        if not items:
            return {}
        return {
            "agents_chatting_duration": round(_mean([c.agents_chatting_duration for c in items])),
            "count": len(items),
            "duration": round(_mean([c.duration for c in items])),
        }

    records = _series(sel, chats, sel.instant, record)
    return {"name": "duration-report", "total": len(chats), "records": records}


def tags(sel: Selection) -> dict[str, Any]:
    """chats/tags: chats per tag per bucket (a chat with two tags counts for both)."""
    chats = sel.chats()

    def record(items: list[Chat]) -> dict[str, Any]:
        counts = Counter(t for c in items for t in c.tags)
        return {t: counts[t] for t in sorted(counts)}

    records = _series(sel, chats, sel.instant, record)
    return {"name": "tags-report", "total": len(chats), "records": records}


def total_chats(sel: Selection) -> dict[str, Any]:
    """chats/total_chats: chats and continuous chats per bucket."""
    chats = sel.chats()

    def record(items: list[Chat]) -> dict[str, Any]:
        if not items:
            return {}
        return {"total": len(items), **_nonzero(continuous=sum(c.continuous for c in items))}

    records = _series(sel, chats, sel.instant, record)
    return {"name": "total-chats-report", "total": len(chats), "records": records}


def ratings(sel: Selection) -> dict[str, Any]:
    """chats/ratings: chats, and those rated good and bad, per bucket; zeros omitted."""
    chats = sel.chats()

    def record(items: list[Chat]) -> dict[str, Any]:
        rated = Counter(sel.rating(c) for c in items)
        return _nonzero(bad=rated["bad"], chats=len(items), good=rated["good"])

    records = _series(sel, chats, sel.instant, record)
    return {"name": "ratings-report", "total": len(chats), "records": records}


def ranking(sel: Selection) -> dict[str, Any]:
    """chats/ranking: rated chats and the Wilson score per agent, best first."""
    good: Counter[str] = Counter()
    bad: Counter[str] = Counter()
    for chat in sel.chats():
        if chat.agent is None:
            continue  # an unassigned chat has no agent to rank
        rating = sel.rating(chat)
        if rating == "good":
            good[chat.agent] += 1
        elif rating == "bad":
            bad[chat.agent] += 1
    rows = {
        agent: {
            "total": good[agent] + bad[agent],
            "good": good[agent],
            "bad": bad[agent],
            "score": wilson_score(good[agent], bad[agent]),
        }
        for agent in sorted(set(good) | set(bad))
    }
    ordered = sorted(rows.items(), key=lambda kv: (-kv[1]["score"], kv[0]))
    return {"name": "ranking-report", "records": dict(ordered)}


def engagement(sel: Selection) -> dict[str, Any]:
    """chats/engagement: chats per origin per bucket; zeros omitted."""
    chats = sel.chats()

    def record(items: list[Chat]) -> dict[str, Any]:
        origins = Counter(c.origin for c in items)
        return _nonzero(
            started_by_customer_from_greeting=origins["greeting"],
            started_by_customer_without_greeting=origins["customer"],
            started_by_agent=origins["agent"],
        )

    records = _series(sel, chats, sel.instant, record)
    return {"name": "engagement-report", "total": len(chats), "records": records}


def greetings_conversion(sel: Selection) -> dict[str, Any]:
    """chats/greetings_conversion: per bucket and greeting id, what the displays led to.

    `accepted` counts the chats the displays started, once those chats are in the chats reports
    (so it equals engagement's `started_by_customer_from_greeting` over the same range), and
    `goals` those of them that reached a goal.
    """
    events = sel.greetings()

    def record(items: list[GreetingEvent]) -> dict[str, Any]:
        by_greeting: dict[str, list[GreetingEvent]] = defaultdict(list)
        for e in items:
            by_greeting[e.greeting_id].append(e)
        result = {}
        for gid, es in sorted(by_greeting.items(), key=lambda kv: int(kv[0])):
            chats = [e.chat for e in es if e.chat is not None and sel.visible(e.chat)]
            result[gid] = {
                "accepted": len(chats),
                "canceled": sum(e.canceled for e in es),
                "displayed": len(es),
                "goals": sum(1 for c in chats if c.goals),
            }
        return result

    records = _series(sel, events, lambda e: e.at, record)
    total = sum(1 for e in events if sel.visible(e.chat))
    return {"name": "greetings-conversion-report", "total": total, "records": records}


def forms(sel: Selection) -> dict[str, Any]:
    """chats/forms: per form, the chats that filled it and the count of every answer given."""
    chats = sel.chats()
    records = []
    for form in FORMS:
        filled = [c for c in chats if any(a[0] == form.form_id for a in c.form_answers)]
        if not filled:
            continue
        answers = Counter((a[1], a[2]) for c in filled for a in c.form_answers)
        fields = [
            {
                "field_id": f.field_id,
                "label": f.label,
                "answers": [
                    {"answer_id": i, "label": label, "count": answers[(f.field_id, i)]}
                    for i, label in enumerate(f.answers)
                    if answers[(f.field_id, i)]
                ],
            }
            for f in form.fields
        ]
        records.append(
            {
                "form_id": form.form_id,
                "count": len(filled),
                "group_id": form.group_id,
                "fields": fields,
            }
        )
    return {"name": "form-report", "records": records}


def _timing(name: str, attribute: str) -> Callable[[Selection], dict[str, Any]]:
    def build(sel: Selection) -> dict[str, Any]:
        chats = sel.chats()

        def record(items: list[Chat]) -> dict[str, Any]:
            values = [getattr(c, attribute) for c in items if getattr(c, attribute) is not None]
            if not values:
                return {}
            return {"count": len(values), attribute: round(_mean(values), 2)}

        records = _series(sel, chats, sel.instant, record)
        return {"name": name, "total": len(chats), "records": records}

    build.__doc__ = f"chats/{attribute}: chats with a {attribute} and its average per bucket."
    return build


def groups(sel: Selection) -> dict[str, Any]:
    """chats/groups: chats per group id per bucket."""
    chats = sel.chats()

    def record(items: list[Chat]) -> dict[str, Any]:
        counts = Counter(c.group_id for c in items)
        return {str(g): counts[g] for g in sorted(counts)}

    records = _series(sel, chats, sel.instant, record)
    return {"name": "groups-report", "total": len(chats), "records": records}


def _queue_stats(entries: list[QueueEntry]) -> dict[str, Any]:
    durations = [e.duration for e in entries]
    return {
        "count": len(durations),
        "min": min(durations),
        "max": max(durations),
        "avg": _mean(durations),
    }


def queued_visitors(sel: Selection) -> dict[str, Any]:
    """chats/queued_visitors: queue waits (seconds) per bucket, by how the wait ended."""
    entries = sel.queue()

    def record(items: list[QueueEntry]) -> dict[str, Any]:
        parts = {
            "left_queue": [e for e in items if e.left],
            "queued": items,
            "entered_chat": [e for e in items if not e.left],
        }
        return {name: _queue_stats(es) for name, es in parts.items() if es}

    records = _series(sel, entries, lambda e: e.started_at, record)
    return {"name": "queued-visitors-report", "total": len(entries), "records": records}


def queued_visitors_left(sel: Selection) -> dict[str, Any]:
    """chats/queued_visitors_left: visitors who left the queue, keyed by chat id, paged."""
    left = sorted((e for e in sel.queue() if e.left), key=lambda e: (e.started_at, e.chat_id))
    total_pages = max(1, math.ceil(len(left) / sel.page_size))
    first = (sel.query.page - 1) * sel.page_size
    records = {}
    for e in left[first : first + sel.page_size]:
        visitor = {"id": e.visitor_id, "ip": e.visitor_ip}
        if e.visitor_name:
            visitor["name"] = e.visitor_name
        if e.visitor_email:
            visitor["email"] = e.visitor_email
        start = dt.datetime.fromtimestamp(e.started_at, dt.timezone.utc)
        queue: dict[str, Any] = {
            "duration": e.duration,
            "group": e.group_id,
            "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if e.url:
            queue["url"] = e.url
        records[e.chat_id] = {"visitor": visitor, "queue": queue}
    summary = {
        "left_without_details": sum(1 for e in left if not e.visitor_name and not e.visitor_email),
        "total_pages": total_pages,
    }
    return {
        "name": "queued-visitors-left-report",
        "total": len(left),
        "summary": summary,
        "records": records,
    }


def _union(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def availability(sel: Selection) -> dict[str, Any]:
    """agents/availability: time at least one selected agent accepted chats, per bucket.

    Hours (2 decimals) per day bucket, minutes per hour bucket; zeros present.
    """
    online = _union(sel.clip(s.start, s.end) for s in sel.statuses() if s.accepting)
    hourly = sel.query.distribution == "hour"
    unit, divisor = ("minutes", 60) if hourly else ("hours", 3600)
    records = {}
    for b in sel.buckets():
        seconds = sum(max(0, min(end, b.end) - max(start, b.start)) for start, end in online)
        records[b.key] = {unit: round(seconds / divisor, 2)}
    total = round(sum(r[unit] for r in records.values()), 2)
    return {"name": "availability-report", "total": total, "records": records}


def performance(sel: Selection) -> dict[str, Any]:
    """agents/performance: chats, ratings, first response and status times (seconds) per agent.

    Chats, chatting time and ratings count for the assignee; the first response for the agent
    who sent it. The agents and groups filters select agents.
    """
    stats: dict[str, Counter[str]] = defaultdict(Counter)
    first_response: dict[str, list[float]] = defaultdict(list)
    for chat in sel.chats():
        if chat.agent is not None and sel.query.filters.agent(chat.agent):
            s = stats[chat.agent]
            s["chats_count"] += 1
            s["chatting_time"] += chat.agents_chatting_duration
            rating = sel.rating(chat)
            if rating:
                s[f"chats_rated_{rating}"] += 1
        first = chat.responders[0] if chat.responders else None
        if first and chat.first_response_time is not None and sel.query.filters.agent(first):
            stats.setdefault(first, Counter())  # a row even with no chat assigned
            first_response[first].append(chat.first_response_time)
    for status in sel.statuses():
        start, end = sel.clip(status.start, status.end)
        if end > start:
            key = "accepting_chats_time" if status.accepting else "not_accepting_chats_time"
            stats[status.agent][key] += end - start
            stats[status.agent]["logged_in_time"] += end - start
    records = {}
    for agent in sorted(stats):
        s, fr = stats[agent], first_response[agent]
        records[agent] = {
            "accepting_chats_time": s["accepting_chats_time"],
            "chats_count": s["chats_count"],
            "chats_rated_bad": s["chats_rated_bad"],
            "chats_rated_good": s["chats_rated_good"],
            "chatting_time": s["chatting_time"],
            "first_response_chats_count": len(fr),
            "first_response_time": _mean(fr) if fr else 0,
            "logged_in_time": s["logged_in_time"],
            "not_accepting_chats_time": s["not_accepting_chats_time"],
        }
    all_fr = [v for values in first_response.values() for v in values]
    summary = {
        "chats_count": sum(r["chats_count"] for r in records.values()),
        "chats_rated_bad": sum(r["chats_rated_bad"] for r in records.values()),
        "chats_rated_good": sum(r["chats_rated_good"] for r in records.values()),
        "first_response_chats_count": len(all_fr),
        "first_response_time": _mean(all_fr) if all_fr else 0,
    }
    return {"name": "performance-report", "records": records, "summary": summary}


def chat_usage(sel: Selection) -> dict[str, Any]:
    """tags/chat_usage: chats per tag over the whole range."""
    counts = Counter(t for c in sel.chats() for t in c.tags)
    return {"name": "tags-chat-usage-report", "records": {t: counts[t] for t in sorted(counts)}}


def unique_visitors(sel: Selection) -> dict[str, Any]:
    """customers/unique_visitors: distinct visitors and page views over the whole range."""
    visits = [v for day in sel.days for v in day.visits if sel.in_range(v.at)]
    return {
        "name": "visitors-report",
        "summary": {
            "unique_visitors": len({v.visitor_id for v in visits}),
            "page_views": sum(v.page_views for v in visits),
        },
    }


@dataclass(frozen=True)
class ReportDef:
    """One emulated endpoint: its builder and what requests it accepts."""

    build: Callable[[Selection], dict[str, Any]]
    distributions: tuple[str, ...] = CHATS_DISTRIBUTIONS
    accepts: filters.Accepts = filters.CHATS


REPORTS: dict[str, ReportDef] = {
    "chats/duration": ReportDef(duration),
    "chats/tags": ReportDef(tags),
    "chats/total_chats": ReportDef(total_chats),
    "chats/ratings": ReportDef(ratings),
    "chats/ranking": ReportDef(ranking),
    "chats/engagement": ReportDef(engagement),
    "chats/greetings_conversion": ReportDef(greetings_conversion, accepts=filters.GREETINGS),
    "chats/forms": ReportDef(forms),
    "chats/response_time": ReportDef(_timing("response-time-report", "response_time")),
    "chats/first_response_time": ReportDef(
        _timing("first-response-time-report", "first_response_time")
    ),
    "chats/groups": ReportDef(groups),
    # Customer reports in the docs (under chats/ in the URL): only from/to.
    "chats/queued_visitors": ReportDef(queued_visitors, accepts=filters.NO_FILTERS),
    "chats/queued_visitors_left": ReportDef(queued_visitors_left, accepts=filters.NO_FILTERS),
    "agents/availability": ReportDef(
        availability, distributions=AGENTS_DISTRIBUTIONS, accepts=filters.AGENTS
    ),
    "agents/performance": ReportDef(
        performance, distributions=AGENTS_DISTRIBUTIONS, accepts=filters.AGENTS
    ),
    "tags/chat_usage": ReportDef(chat_usage, accepts=filters.CHAT_USAGE),
    "customers/unique_visitors": ReportDef(unique_visitors, accepts=filters.NO_FILTERS),
    # The same report under the name a never-merged LiveChat docs draft gave it (docs PR #1452);
    # the merged v3.6 docs call it customers/unique_visitors.
    "stats/visitors": ReportDef(unique_visitors, accepts=filters.NO_FILTERS),
}
