"""One hierarchy for every failure the source reports, each with the inputs that explain it."""

from __future__ import annotations


class LiveChatError(Exception):
    """Base of every error raised by the LiveChat source."""


class ConfigurationError(LiveChatError, ValueError):
    """A setting or argument is invalid; raised before any request is made."""


class LiveChatAPIError(LiveChatError):
    """The API answered a request with an error, or never answered it usefully.

    Attributes:
        report: The report path, like `chats/total_chats`.
        window: The requested range, like `2024-01-01..2024-01-31`.
        status: The HTTP status, or None when no answer came.
        error_type: The API's `error.type`, when it sent one.
        api_message: The API's `error.message`, or what went wrong on the wire.
        attempts: How many times the request was sent.
    """

    def __init__(
        self,
        report: str,
        window: str,
        *,
        status: int | None,
        error_type: str | None,
        api_message: str,
        attempts: int = 1,
        hint: str = "",
    ) -> None:
        self.report = report
        self.window = window
        self.status = status
        self.error_type = error_type
        self.api_message = api_message
        self.attempts = attempts
        answer = f"HTTP {status}" if status is not None else "no answer"
        kind = f" {error_type}" if error_type else ""
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        text = f"{report} for {window} failed{tries}: {answer}{kind}: {api_message}"
        super().__init__(f"{text}. {hint}" if hint else text)


class ResponseShapeError(LiveChatError):
    """A 200 answer did not have the shape the report's flattener declares.

    Attributes:
        report: The report path.
        window: The requested range.
        detail: What was expected and what was found.
    """

    def __init__(self, report: str, window: str, detail: str) -> None:
        self.report = report
        self.window = window
        self.detail = detail
        super().__init__(
            f"{report} for {window}: unexpected response: {detail}. The API may have changed;"
            " please report it with this message."
        )
