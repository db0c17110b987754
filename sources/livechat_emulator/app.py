"""The API without the transport: authenticate, validate and answer one report request."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Any

from .license import MAX_CHAT_SECONDS, SyntheticLicense
from .query import ValidationError, parse_query, parse_query_string
from .reports import REPORTS, Selection

API_VERSION = "3.6"
PATH_PREFIX = f"/v{API_VERSION}/reports/"


@dataclass
class Answer:
    """An HTTP answer: status, JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        """Return the body as UTF-8 JSON."""
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


def parse_authorization(header: str) -> tuple[str, str]:
    """Split an Authorization header into its scheme (lower case) and credentials.

    Basic credentials come back decoded (`user:password`); undecodable ones as "".
    """
    scheme, _, credentials = header.partition(" ")
    scheme, credentials = scheme.lower(), credentials.strip()
    if scheme == "basic":
        try:
            credentials = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            credentials = ""
    return scheme, credentials


def error(status: int, error_type: str, message: str, **headers: str) -> Answer:
    """Return an answer in the documented error form `{"error": {"type", "message"}}`."""
    return Answer(status, {"error": {"type": error_type, "message": message}}, dict(headers))


def unknown_path(path: str) -> Answer | None:
    """Return the 404 answer for a path outside the reports API, or None."""
    if path.startswith(PATH_PREFIX):
        return None
    return error(404, "not_found", f"Unknown path `{path}`; reports live under {PATH_PREFIX}")


@dataclass
class ReportsAPI:
    """A LiveChat Reports API over a synthetic license.

    Attributes:
        seed: Seed of the synthetic license.
        now: The clock, epoch seconds; None follows the real time.
        license_start: First day with data; None means two years before `now`.
        timezone: The license's timezone, used when a request names none.
        account_id: Basic-auth user name of the personal access token.
        personal_access_token: The personal access token (Basic auth).
        bearer_token: An OAuth access token with the reports_read scope (Bearer auth).
        unscoped_token: A Bearer token that is valid but lacks reports_read (answers 403).
        page_size: Records per page of chats/queued_visitors_left.
        revoked: Whether the account's tokens are revoked (every request gets 401).
        failing: Report paths (like `chats/ranking`) whose requests get a 500 for this
            account: an account whose requests keep failing while the others answer.
    """

    seed: int = 42
    now: float | None = None
    license_start: dt.date | None = None
    timezone: str = "UTC"
    account_id: str = "demo"
    personal_access_token: str = "demo-pat"
    bearer_token: str | None = "demo-token"
    unscoped_token: str | None = None
    page_size: int = 25
    revoked: bool = False
    failing: frozenset[str] = frozenset()

    def clock(self) -> int:
        """Return the emulator's current time in epoch seconds."""
        return int(self.now if self.now is not None else time.time())

    def license(self, now: int) -> SyntheticLicense:
        """Return the synthetic license as of `now`."""
        start = self.license_start
        if start is None:
            today = dt.datetime.fromtimestamp(now, dt.timezone.utc).date()
            start = today.replace(year=today.year - 2, day=min(today.day, 28))
        return SyntheticLicense(self.seed, start)

    def authenticate(self, header: str | None) -> Answer | None:
        """Check the Authorization header; return the error answer, or None when it passes."""
        if not header:
            return error(401, "authentication", "Missing Authorization header")
        scheme, credentials = parse_authorization(header)
        if self.revoked:
            return error(401, "authentication", "Invalid access token")
        if scheme == "basic":
            if credentials == f"{self.account_id}:{self.personal_access_token}":
                return None
        elif scheme == "bearer":
            if self.bearer_token and credentials == self.bearer_token:
                return None
            if self.unscoped_token and credentials == self.unscoped_token:
                return error(403, "authorization", "Missing required scope: reports_read")
        return error(401, "authentication", "Invalid access token")

    def identify(self, header: str | None) -> str | None:
        """Return the account the credentials name (valid or not), or None.

        A Basic user name names an account; a Bearer token names the account that owns it.
        """
        scheme, credentials = parse_authorization(header or "")
        if scheme == "basic" and credentials.partition(":")[0] == self.account_id:
            return self.account_id
        tokens = (self.bearer_token, self.unscoped_token)
        if scheme == "bearer" and credentials and credentials in tokens:
            return self.account_id
        return None

    def revoke(self) -> None:
        """Revoke every token of the account: its requests get 401 until `restore()`."""
        self.revoked = True

    def restore(self) -> None:
        """Make the account's tokens valid again after `revoke()`."""
        self.revoked = False

    def handle(self, method: str, path: str, query: str, auth: str | None, body: bytes) -> Answer:
        """Answer one request.

        Args:
            method: GET or POST.
            path: The URL path, like `/v3.6/reports/chats/total_chats`.
            query: The raw query string (GET parameters).
            auth: The Authorization header, if any.
            body: The raw request body (POST).

        Returns:
            The answer to send.
        """
        refused = unknown_path(path) or self.authenticate(auth)
        if refused:
            return refused
        report = path[len(PATH_PREFIX) :].strip("/")
        if report in self.failing:
            return error(500, "internal", f"Injected failure of `{report}` for this account")
        spec = REPORTS.get(report)
        if spec is None:
            valid = ", ".join(sorted(REPORTS))
            return error(422, "validation", f"Unknown report `{report}`. Valid reports: {valid}")
        try:
            params = self._params(method, query, body)
            now = self.clock()
            q = parse_query(
                params,
                distributions=spec.distributions,
                accepts=spec.accepts,
                now=now,
                default_timezone=self.timezone,
            )
        except ValidationError as e:
            return error(422, "validation", str(e))
        # Chats belong to the UTC day they start in; one whose post-chat form falls in the
        # range may have started the day before.
        pair = q.filters.pair
        margin = MAX_CHAT_SECONDS if pair and pair.form_type == "post_chat" else 0
        first = dt.datetime.fromtimestamp(q.start - margin, dt.timezone.utc).date()
        last = dt.datetime.fromtimestamp(min(q.end, now), dt.timezone.utc).date()
        days = tuple(self.license(now).days(first, last)) if q.start <= now else ()
        result = spec.build(Selection(q, days, now, self.page_size))
        return Answer(200, {"name": result.pop("name"), "request": q.echo(), **result})

    @staticmethod
    def _params(method: str, query: str, body: bytes) -> dict[str, Any]:
        if method == "GET":
            return parse_query_string(query)
        if method != "POST":
            raise ValidationError(f"HTTP method {method} is not supported; use POST or GET")
        if not body.strip():
            return {}
        try:
            params = json.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            raise ValidationError(f"the request body is not valid JSON: {e}") from e
        if not isinstance(params, dict):
            raise ValidationError("the request body must be a JSON object")
        return params
