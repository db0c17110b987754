"""A deterministic synthetic LiveChat license: the raw events every emulated report comes from.

The data of one UTC day depends only on the seed and that day, so any range can be generated lazily,
in any order, and gives the same events after a restart. All instants are integer UTC epoch seconds.

Chats carry everything the documented filters select on: the agents assigned and responding (a
missed chat has no agent message; one started while nobody accepted chats may stay unassigned; a
transferred chat was first answered in another group), tags, country, goals and sales reached,
event types, chat properties and filled forms. A chat started from a greeting is generated from
the accepted greeting display, at the same instant, so greetings and chats count the same chats.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from typing import TypeVar

T = TypeVar("T")

DAY_SECONDS = 86_400
GROUP_IDS = (0, 1, 2)
COUNTRIES = ("PL", "US", "DE", "GB", "FR", "BR", "IN")
ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# Chats by UTC hour of day: quiet nights, a busy working day.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 11, 11, 10, 10, 11, 10, 9, 7, 5, 4, 3, 2, 2, 1)
HOURS = tuple(range(24))
VISITOR_POOL = 2_500
MAX_CHAT_SECONDS = 7_200


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
# Event types of the Agent Chat API that a chat can contain.
EVENT_TYPES = ("message", "system_message", "file", "form", "filled_form", "rich_message", "custom")
GOALS = (1, 4, 9)  # goal ids
SALES = (2, 6)  # sales tracker ids
# source.customer_client_id: the chat widget, the mobile SDK, a messenger integration
CLIENT_IDS = (
    "c5e4f61e1a6c3b1521b541bc5c5a2ac5",
    "9a8be3a7c1d65e8cb0f7fa6c0e3b5e21",
    "f3a1d1b2e4c5a6b7c8d9e0f1a2b3c4d5",
)
# The chat properties chats carry (LiveChat default properties), by (namespace, name): their type.
PROPERTY_TYPES: dict[tuple[str, str], type] = {
    ("routing", "continuous"): bool,
    ("routing", "unassigned"): bool,
    ("routing", "unreplied"): bool,
    ("routing", "start_url"): str,
    ("routing", "referrer"): str,
    ("source", "customer_client_id"): str,
    ("lc2", "greeting_id"): int,
    ("rating", "score"): int,
}
REFERRERS = ("https://www.google.com/", "https://www.bing.com/", "https://news.example.org/")
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
FORMS_BY_ID = {f.form_id: f for f in FORMS}


@dataclass(frozen=True)
class Chat:
    """One chat with everything the chats reports count and the filters select on.

    Attributes:
        agent: The agent the chat is assigned to; None when it stayed unassigned.
        responders: Agents who sent a message, the first responder first; empty for a missed chat.
        first_response_group: The group the chat was in when an agent first answered (another
            group than `group_id` when the chat was transferred); None for a missed chat.
        form_answers: (form_id, field_id, answer index) of every answer in the filled forms.
    """

    chat_id: str
    started_at: int
    ended_at: int
    group_id: int
    agent: str | None
    responders: tuple[str, ...]
    first_response_group: int | None
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
    form_answers: tuple[tuple[str, str, int], ...]
    event_types: tuple[str, ...]
    goals: tuple[int, ...]
    sales: tuple[int, ...]
    customer_client_id: str
    start_url: str | None
    referrer: str | None

    def agents(self) -> set[str]:
        """Every agent of the chat: the assignee and whoever answered."""
        found = set(self.responders)
        if self.agent is not None:
            found.add(self.agent)
        return found

    def property_value(self, namespace: str, name: str, now: int) -> bool | int | str | None:
        """The chat property `namespace.name` as of `now`; None when the chat does not have it.

        `rating.score` (1 good, 0 bad) exists once the rating has arrived.
        """
        key = (namespace, name)
        if key == ("routing", "continuous"):
            return self.continuous
        if key == ("routing", "unassigned"):
            return self.agent is None
        if key == ("routing", "unreplied"):
            return not self.responders
        if key == ("routing", "start_url"):
            return self.start_url
        if key == ("routing", "referrer"):
            return self.referrer
        if key == ("source", "customer_client_id"):
            return self.customer_client_id
        if key == ("lc2", "greeting_id"):
            return None if self.greeting_id is None else int(self.greeting_id)
        if key == ("rating", "score") and self.rated_at is not None and self.rated_at <= now:
            return 1 if self.rating == "good" else 0
        return None

    def form_submitted_at(self, kind: str) -> int | None:
        """When the chat's `pre_chat` (at the start) or `post_chat` form (at the end) was sent."""
        if not any(FORMS_BY_ID[a[0]].kind == kind for a in self.form_answers):
            return None
        return self.started_at if kind == "pre_chat" else self.ended_at


@dataclass(frozen=True)
class GreetingEvent:
    """A greeting displayed to a visitor, and what the visitor did with it.

    An accepted greeting starts `chat` at the display instant; a canceled one was dismissed.
    """

    greeting_id: str
    group_id: int
    at: int
    chat: Chat | None
    canceled: bool


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


def _weighted(rng: random.Random, population: Sequence[T], cum_weights: Sequence[int]) -> T:
    """Draw one of `population` as `rng.choices(population, cum_weights=...)[0]` does.

    The same draw from the same random number, without `choices`' checks on every call (a
    day's generation makes hundreds of these).
    """
    total = cum_weights[-1] + 0.0
    return population[bisect_right(cum_weights, rng.random() * total, 0, len(cum_weights) - 1)]


def _cumulative(weights: Sequence[int]) -> tuple[int, ...]:
    return tuple(accumulate(weights))


_HOUR_CUM = _cumulative(HOUR_WEIGHTS)
_TAG_COUNTS, _TAG_COUNT_CUM = (0, 1, 2), _cumulative((3, 5, 2))
_CLIENT_CUM = _cumulative((16, 3, 1))
_GROUP_CUM = _cumulative((5, 3, 2))


def _volume(rng: random.Random, day: dt.date, weekday_mean: float) -> int:
    """Draw how many events a day has: weekly and yearly seasonality, Poisson-like noise."""
    weekly = 0.3 if day.weekday() >= 5 else 1.0
    yearly = 1.0 + 0.2 * math.sin(2 * math.pi * day.timetuple().tm_yday / 365.0)
    mean = weekday_mean * weekly * yearly
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


def _instant(rng: random.Random, start: int) -> int:
    hour = _weighted(rng, HOURS, _HOUR_CUM)
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


def _agent_for(
    rng: random.Random, group_id: int, at: int, statuses: list[StatusInterval], must: bool
) -> str | None:
    """Route a chat: an accepting agent of its group, else any accepting agent.

    With nobody accepting chats, a third of the chats stay unassigned (unless `must`, for chats an
    agent started) and the rest go to a member of the group who answers later.
    """
    online = {s.agent for s in statuses if s.accepting and s.start <= at < s.end}
    members = [a.email for a in AGENTS if a.group_id == group_id]
    candidates = [a for a in members if a in online] or [a for a in AGENTS_BY_EMAIL if a in online]
    if candidates:
        return rng.choice(candidates)
    if not must and rng.random() < 0.35:
        return None
    return rng.choice(members)


def _event_types(rng: random.Random, origin: str, answers: list[tuple[str, str, int]]) -> set[str]:
    found = {"message"}
    if rng.random() < 0.85:
        found.add("system_message")
    if rng.random() < 0.08:
        found.add("file")
    if rng.random() < (0.6 if origin == "greeting" else 0.05):
        found.add("rich_message")
    if answers:
        found.update(("form", "filled_form"))
    elif rng.random() < 0.1:
        found.add("form")
    if rng.random() < 0.02:
        found.add("custom")
    return found


def _chat(
    rng: random.Random,
    started_at: int,
    group_id: int,
    origin: str,
    statuses: list[StatusInterval],
    greeting_id: str | None = None,
) -> Chat:
    agent = _agent_for(rng, group_id, started_at, statuses, must=origin == "agent")
    duration = min(MAX_CHAT_SECONDS, max(30, int(rng.lognormvariate(5.8, 0.7))))
    answered = agent is not None and (origin == "agent" or rng.random() >= 0.05)
    responders: tuple[str, ...] = ()
    first_response_group = None
    if answered and agent is not None:
        responders, first_response_group = (agent,), group_id
        if rng.random() < 0.06:  # first answered in another group, then transferred here
            first = rng.choice([a for a in AGENTS if a.group_id != group_id])
            responders, first_response_group = (first.email, agent), first.group_id
    first_response = round(rng.uniform(2, 60), 2) if answered else None
    response = round(rng.uniform(5, 90), 2) if answered else None
    tags = tuple(sorted(rng.sample(TAGS, _weighted(rng, _TAG_COUNTS, _TAG_COUNT_CUM))))
    roll = rng.random()
    rating = "good" if roll < 0.16 else ("bad" if roll < 0.24 else None)
    if agent is None:
        rating = None  # ratings rank agents; an unassigned chat has none to rank
    ended_at = started_at + duration
    rated_at = ended_at + rng.randrange(48 * 3600) if rating else None
    answers: list[tuple[str, str, int]] = []
    for form in FORMS:
        if form.group_id != group_id or rng.random() >= (0.6 if form.kind == "pre_chat" else 0.3):
            continue
        answers.extend(
            (form.form_id, f.field_id, rng.randrange(len(f.answers))) for f in form.fields
        )
    goals = (
        tuple(sorted(rng.sample(GOALS, 1)))
        if rng.random() < (0.25 if origin == "greeting" else 0.06)
        else ()
    )
    return Chat(
        chat_id="".join(rng.choices(ALPHANUMERIC, k=10)),
        started_at=started_at,
        ended_at=ended_at,
        group_id=group_id,
        agent=agent,
        responders=responders,
        first_response_group=first_response_group,
        duration=duration,
        agents_chatting_duration=int(duration * rng.uniform(0.7, 1.0)) if answered else 0,
        first_response_time=first_response,
        response_time=response,
        continuous=rng.random() < 0.15,
        origin=origin,
        greeting_id=greeting_id,
        tags=tags,
        rating=rating,
        rated_at=rated_at,
        country=rng.choice(COUNTRIES),
        form_answers=tuple(answers),
        event_types=tuple(sorted(_event_types(rng, origin, answers))),
        goals=goals,
        sales=(rng.choice(SALES),) if rng.random() < 0.04 else (),
        customer_client_id=_weighted(rng, CLIENT_IDS, _CLIENT_CUM),
        start_url=f"https://shop.example.com/p/{rng.randrange(100)}"
        if rng.random() < 0.85
        else None,
        referrer=rng.choice(REFERRERS) if rng.random() < 0.45 else None,
    )


def _greetings(
    rng: random.Random, day: dt.date, start: int, statuses: list[StatusInterval]
) -> list[GreetingEvent]:
    events = []
    for greeting_id, group_id in GREETINGS.items():
        for _ in range(_volume(rng, day, 6)):
            at = _instant(rng, start)
            chat = None
            if rng.random() < 0.22:
                chat = _chat(rng, at, group_id, "greeting", statuses, greeting_id)
            canceled = chat is None and rng.random() < 0.35
            events.append(GreetingEvent(greeting_id, group_id, at, chat, canceled))
    return events


def _other_chats(
    rng: random.Random, day: dt.date, start: int, statuses: list[StatusInterval]
) -> list[Chat]:
    chats = []
    for _ in range(_volume(rng, day, 47)):
        at = _instant(rng, start)
        group_id = _weighted(rng, GROUP_IDS, _GROUP_CUM)
        origin = "customer" if rng.random() < 0.935 else "agent"
        chats.append(_chat(rng, at, group_id, origin, statuses))
    return chats


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
                group_id=_weighted(rng, GROUP_IDS, _GROUP_CUM),
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


DAYS_KEPT = 4096  # generated days the cache holds by default (~70 KB each)


@lru_cache(maxsize=DAYS_KEPT)
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
    greetings = _greetings(rng, day, start, statuses)
    chats = [e.chat for e in greetings if e.chat is not None]
    chats.extend(_other_chats(rng, day, start, statuses))
    return DayData(
        day=day,
        chats=tuple(sorted(chats, key=lambda c: (c.started_at, c.chat_id))),
        greetings=tuple(greetings),
        statuses=tuple(statuses),
        visits=tuple(_visits(rng, day, start)),
        queue=tuple(_queue(rng, day, start)),
    )


def keep_days(count: int) -> None:
    """Make the cache of `generate_day` hold up to `count` days, emptying it.

    A day takes ~2 ms to generate and ~70 KB to keep; a benchmark over thousands of accounts
    keeps all their days so that its requests cost the emulator no generation.
    """
    global generate_day
    generate_day = lru_cache(maxsize=count)(generate_day.__wrapped__)


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
