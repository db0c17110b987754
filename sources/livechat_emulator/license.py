"""A deterministic synthetic LiveChat license: the raw events every emulated report comes from.

The data of one UTC day depends only on the seed and that day, so any range can be generated lazily,
in any order, and gives the same events after a restart. All instants are integer UTC epoch seconds.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from dataclasses import dataclass
from functools import lru_cache

DAY_SECONDS = 86_400
GROUP_IDS = (0, 1, 2)
COUNTRIES = ("PL", "US", "DE", "GB", "FR", "BR", "IN")
ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# Chats by UTC hour of day: quiet nights, a busy working day.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 11, 11, 10, 10, 11, 10, 9, 7, 5, 4, 3, 2, 2, 1)
VISITOR_POOL = 2_500


@dataclass(frozen=True)
class Agent:
    """An agent of the license; the email is the agent id."""

    email: str
    group_id: int


@dataclass(frozen=True)
class FormField:
    """A question of a form with its answer labels (the answer id is the index)."""

    field_id: str
    label: str
    answers: tuple[str, ...]


@dataclass(frozen=True)
class Form:
    """A pre-chat or post-chat form of one group."""

    form_id: str
    kind: str
    group_id: int
    fields: tuple[FormField, ...]


AGENTS: tuple[Agent, ...] = (
    Agent("anna.kowalska@example.com", 0),
    Agent("ben.okafor@example.com", 0),
    Agent("chloe.martin@example.com", 1),
    Agent("diego.fernandez@example.com", 1),
    Agent("emma.schmidt@example.com", 1),
    Agent("farid.haddad@example.com", 2),
    Agent("grace.lee@example.com", 2),
    Agent("hiro.tanaka@example.com", 2),
)
AGENTS_BY_EMAIL = {a.email: a for a in AGENTS}
TAGS: tuple[str, ...] = (
    "support",
    "sales",
    "spam",
    "Billing issue",
    "Sales – EU",
    "VIP!",
    "zgłoszenie",
    "feature request",
)
# greeting id -> the group it is shown in
GREETINGS: dict[str, int] = {
    "1": 0,
    "2": 0,
    "5": 1,
    "7": 1,
    "11": 2,
    "12": 0,
    "18": 1,
    "19": 2,
    "23": 0,
    "30": 1,
}
FORMS: tuple[Form, ...] = (
    Form(
        "163654772984908812",
        "pre_chat",
        0,
        (
            FormField(
                "163654772984903574",
                "What can we help you with?",
                ("Sales question", "Technical support", "Billing"),
            ),
            FormField(
                "163654772984903575", "How did you find us?", ("Search", "A friend", "An ad")
            ),
        ),
    ),
    Form(
        "163654772984908901",
        "pre_chat",
        1,
        (FormField("163654772984903611", "Company size:", ("1-10", "11-50", "51+")),),
    ),
    Form(
        "163654772984909020",
        "pre_chat",
        2,
        (FormField("163654772984903720", "Product:", ("Web app", "Mobile app")),),
    ),
    Form(
        "183672098710307678",
        "post_chat",
        0,
        (FormField("183672098710307679", "Was your issue resolved?", ("Yes", "No")),),
    ),
)


@dataclass(frozen=True)
class Chat:
    """One chat with everything the chats reports count."""

    chat_id: str
    started_at: int
    ended_at: int
    group_id: int
    agent: str
    duration: int
    agents_chatting_duration: int
    first_response_time: float | None
    response_time: float | None
    continuous: bool
    origin: str  # "greeting", "customer" or "agent"
    greeting_id: str | None
    tags: tuple[str, ...]
    rating: str | None  # "good", "bad" or None
    rated_at: int | None
    country: str
    form_answers: tuple[tuple[str, str, int], ...]  # (form_id, field_id, answer index)


@dataclass(frozen=True)
class GreetingEvent:
    """A greeting displayed to a visitor, and what the visitor did with it."""

    greeting_id: str
    group_id: int
    at: int
    accepted: bool
    canceled: bool
    goal: bool


@dataclass(frozen=True)
class StatusInterval:
    """An agent logged in and accepting (or not accepting) chats from `start` to `end`."""

    agent: str
    accepting: bool
    start: int
    end: int


@dataclass(frozen=True)
class Visit:
    """A visitor's visit with its page views."""

    visitor_id: str
    at: int
    page_views: int


@dataclass(frozen=True)
class QueueEntry:
    """A visitor waiting in a queue; `left` is True when they left it before a chat started."""

    chat_id: str
    group_id: int
    started_at: int
    duration: int
    left: bool
    visitor_id: str
    visitor_ip: str
    visitor_name: str | None
    visitor_email: str | None
    url: str | None


@dataclass(frozen=True)
class DayData:
    """All the events of one UTC day, each attributed to the day its start falls in."""

    day: dt.date
    chats: tuple[Chat, ...]
    greetings: tuple[GreetingEvent, ...]
    statuses: tuple[StatusInterval, ...]
    visits: tuple[Visit, ...]
    queue: tuple[QueueEntry, ...]


def day_start(day: dt.date) -> int:
    """Return the epoch second at which the UTC day starts."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp())


def _volume(rng: random.Random, day: dt.date, weekday_mean: float) -> int:
    """Draw how many events a day has: weekly and yearly seasonality, Poisson-like noise."""
    weekly = 0.3 if day.weekday() >= 5 else 1.0
    yearly = 1.0 + 0.2 * math.sin(2 * math.pi * day.timetuple().tm_yday / 365.0)
    mean = weekday_mean * weekly * yearly
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


def _instant(rng: random.Random, start: int) -> int:
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    return start + hour * 3600 + rng.randrange(3600)


def _statuses(rng: random.Random, day: dt.date, start: int) -> list[StatusInterval]:
    weekend = day.weekday() >= 5
    intervals: list[StatusInterval] = []
    for index, agent in enumerate(AGENTS):
        if rng.random() >= (0.25 if weekend else 0.9):
            continue
        t = start + (6 + (index % 4) * 2) * 3600 + rng.randrange(3600)
        end = t + rng.randrange(5 * 3600, 9 * 3600)
        while t < end:
            segment_end = min(end, t + rng.randrange(15 * 60, 2 * 3600))
            intervals.append(StatusInterval(agent.email, rng.random() < 0.8, t, segment_end))
            t = segment_end
    return intervals


def _agent_for(rng: random.Random, group_id: int, at: int, statuses: list[StatusInterval]) -> str:
    online = {s.agent for s in statuses if s.accepting and s.start <= at < s.end}
    members = [a.email for a in AGENTS if a.group_id == group_id]
    candidates = [a for a in members if a in online] or [a for a in AGENTS_BY_EMAIL if a in online]
    return rng.choice(candidates or members)


def _chat(rng: random.Random, start: int, statuses: list[StatusInterval]) -> Chat:
    started_at = _instant(rng, start)
    group_id = rng.choices(GROUP_IDS, weights=(5, 3, 2))[0]
    agent = _agent_for(rng, group_id, started_at, statuses)
    duration = min(7200, max(30, int(rng.lognormvariate(5.8, 0.7))))
    first_response = round(rng.uniform(2, 60), 2) if rng.random() < 0.92 else None
    response = round(rng.uniform(5, 90), 2) if first_response is not None else None
    roll = rng.random()
    origin = "greeting" if roll < 0.22 else ("customer" if roll < 0.95 else "agent")
    greeting_id = rng.choice([g for g, grp in GREETINGS.items() if grp == group_id])
    tags = tuple(sorted(rng.sample(TAGS, rng.choices((0, 1, 2), weights=(3, 5, 2))[0])))
    roll = rng.random()
    rating = "good" if roll < 0.16 else ("bad" if roll < 0.24 else None)
    ended_at = started_at + duration
    rated_at = ended_at + rng.randrange(48 * 3600) if rating else None
    answers: list[tuple[str, str, int]] = []
    for form in FORMS:
        if form.group_id != group_id or rng.random() >= (0.6 if form.kind == "pre_chat" else 0.3):
            continue
        answers.extend(
            (form.form_id, f.field_id, rng.randrange(len(f.answers))) for f in form.fields
        )
    return Chat(
        chat_id="".join(rng.choices(ALPHANUMERIC, k=10)),
        started_at=started_at,
        ended_at=ended_at,
        group_id=group_id,
        agent=agent,
        duration=duration,
        agents_chatting_duration=int(duration * rng.uniform(0.7, 1.0)),
        first_response_time=first_response,
        response_time=response,
        continuous=rng.random() < 0.15,
        origin=origin,
        greeting_id=greeting_id if origin == "greeting" else None,
        tags=tags,
        rating=rating,
        rated_at=rated_at,
        country=rng.choice(COUNTRIES),
        form_answers=tuple(answers),
    )


def _greetings(rng: random.Random, day: dt.date, start: int) -> list[GreetingEvent]:
    events = []
    for greeting_id, group_id in GREETINGS.items():
        for _ in range(_volume(rng, day, 6)):
            accepted = rng.random() < 0.3
            canceled = not accepted and rng.random() < 0.35
            goal = accepted and rng.random() < 0.25
            at = _instant(rng, start)
            events.append(GreetingEvent(greeting_id, group_id, at, accepted, canceled, goal))
    return events


def _visits(rng: random.Random, day: dt.date, start: int) -> list[Visit]:
    # Squaring a uniform draw favours low ids, so the same visitors come back on later days.
    return [
        Visit(
            f"v{int(rng.random() ** 2 * VISITOR_POOL):05d}", _instant(rng, start), rng.randint(1, 6)
        )
        for _ in range(_volume(rng, day, 140))
    ]


def _queue(rng: random.Random, day: dt.date, start: int) -> list[QueueEntry]:
    entries = []
    for _ in range(_volume(rng, day, 9)):
        named = rng.random() < 0.4
        number = rng.randrange(1000, 9999)
        entries.append(
            QueueEntry(
                chat_id="".join(rng.choices(ALPHANUMERIC, k=10)),
                group_id=rng.choices(GROUP_IDS, weights=(5, 3, 2))[0],
                started_at=_instant(rng, start),
                duration=rng.randrange(0, 600),
                left=rng.random() < 0.4,
                visitor_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                visitor_ip=".".join(str(rng.randint(1, 254)) for _ in range(4)),
                visitor_name=f"Visitor {number}" if named else None,
                visitor_email=f"visitor{number}@example.org" if named else None,
                url=f"https://shop.example.com/p/{rng.randrange(100)}"
                if rng.random() < 0.7
                else None,
            )
        )
    return entries


@lru_cache(maxsize=4096)
def generate_day(seed: int, day: dt.date) -> DayData:
    """Generate the events of one UTC day from the seed alone.

    Args:
        seed: The license seed.
        day: The UTC day.

    Returns:
        The day's chats, greeting events, agent statuses, visits and queue entries.
    """
    rng = random.Random(f"livechat-emulator/{seed}/{day.isoformat()}")
    start = day_start(day)
    statuses = _statuses(rng, day, start)
    chats = [_chat(rng, start, statuses) for _ in range(_volume(rng, day, 60))]
    return DayData(
        day=day,
        chats=tuple(sorted(chats, key=lambda c: c.started_at)),
        greetings=tuple(_greetings(rng, day, start)),
        statuses=tuple(statuses),
        visits=tuple(_visits(rng, day, start)),
        queue=tuple(_queue(rng, day, start)),
    )


@dataclass(frozen=True)
class SyntheticLicense:
    """The license as seen at a point in time.

    Attributes:
        seed: Seed of the generated data.
        license_start: The first UTC day with data; earlier days are empty.
    """

    seed: int
    license_start: dt.date

    def days(self, first: dt.date, last: dt.date) -> list[DayData]:
        """Return the generated UTC days from `first` through `last` that the license covers."""
        first = max(first, self.license_start)
        return [
            generate_day(self.seed, first + dt.timedelta(days=i))
            for i in range((last - first).days + 1)
        ]
