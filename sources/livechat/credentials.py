"""Credentials: a personal access token (Basic) or an OAuth access token (Bearer)."""

from __future__ import annotations

import base64
from typing import Union

from dlt.common.configuration import configspec
from dlt.common.configuration.specs import CredentialsConfiguration
from dlt.common.typing import TSecretStrValue


@configspec
class PersonalAccessTokenCredentials(CredentialsConfiguration):
    """A personal access token: HTTP Basic with the account id as user name (recommended)."""

    account_id: str = None  # type: ignore[assignment]
    personal_access_token: TSecretStrValue = None  # type: ignore[assignment]

    def authorization(self) -> str:
        """Return the Authorization header value."""
        pair = f"{self.account_id}:{self.personal_access_token}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def __str__(self) -> str:
        return f"personal access token of account {self.account_id}"


@configspec
class OAuthCredentials(CredentialsConfiguration):
    """An OAuth 2.1 access token (Bearer); `account_id` names whose data it loads."""

    access_token: TSecretStrValue = None  # type: ignore[assignment]
    account_id: str = None  # type: ignore[assignment]

    def authorization(self) -> str:
        """Return the Authorization header value."""
        return f"Bearer {self.access_token}"

    def __str__(self) -> str:
        return f"OAuth access token of account {self.account_id}"


LiveChatCredentials = Union[PersonalAccessTokenCredentials, OAuthCredentials]  # noqa: UP007
