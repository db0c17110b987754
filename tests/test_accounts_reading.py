"""Reading accounts: sections read once per provider as dlt would find them, beside the file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest
from dlt.common.configuration.container import Container
from dlt.common.configuration.providers import (
    ConfigProvider,
    CustomLoaderDocProvider,
    EnvironProvider,
    StringTomlProvider,
)
from dlt.common.configuration.specs import PluggableRunContext

from pipelines.accounts import (
    OVERRIDES,
    AccountConfigError,
    SectionValues,
    configured_account_ids,
    configured_names,
    read_accounts,
)

ENV = "SOURCES__LIVECHAT__ACCOUNTS__"
KEYS: dict[str, type] = {
    "account_id": str,
    "personal_access_token": str,
    "access_token": str,
    **OVERRIDES,
    "shard": int,
}


class Vault(ConfigProvider):
    """A provider asked key by key, as dlt's vaults are; it records what it was asked."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.asked: list[str] = []

    def get_value(
        self, key: str, hint: Any, pipeline_name: str | None, *sections: str
    ) -> tuple[Any, str]:
        path = ".".join((*sections, key))
        self.asked.append(path)
        return self.values.get(path), path

    @property
    def supports_secrets(self) -> bool:
        return True

    @property
    def supports_sections(self) -> bool:
        return True

    @property
    def name(self) -> str:
        return "test vault"


class Counted(CustomLoaderDocProvider):
    """config.toml, counting how often it is asked."""

    def __init__(self, doc: dict[str, Any]) -> None:
        super().__init__("config.toml", lambda: doc, supports_secrets=False)
        self.asked = 0

    def get_value(
        self, key: str, hint: Any, pipeline_name: str | None, *sections: str
    ) -> tuple[Any, str]:
        self.asked += 1
        return super().get_value(key, hint, pipeline_name, *sections)


@pytest.fixture
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No account configured but what the test sets; the working directory is the temp dir."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith(("SOURCES__LIVECHAT__", "SOURCES__LIVECHAT__CREDENTIALS__")):
            monkeypatch.delenv(key)


@pytest.fixture
def providers(clean: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ConfigProvider]]:
    """dlt's providers for the test: the environment, secrets.toml, config.toml and a vault."""
    secrets = StringTomlProvider(
        """
        [sources.livechat.accounts.acme]
        account_id = "acme-from-secrets"
        personal_access_token = "pat-acme-secrets"
        breakdown_groups = [1, 4]
        [sources.livechat.accounts.globex]
        access_token = "oauth-globex"
        shard = 2
        [sources.livechat.accounts.hooli]
        account_id = "hooli-id"
        shard = "two"
        """
    )
    config = Counted(
        {
            "sources": {
                "livechat": {
                    "accounts": {
                        "acme": {"timezone": "Asia/Tokyo", "account_id": "acme-from-config"},
                        "initech": {
                            "account_id": "initech-id",
                            "filters": {"tags": {"exists": True}},
                        },
                    }
                }
            }
        }
    )
    vault = Vault(
        {
            "sources.livechat.accounts.initech.personal_access_token": "pat-initech-vault",
            "sources.livechat.accounts.globex.account_id": "globex-id",
            "sources.livechat.accounts.globex.timezone": "Europe/Warsaw",
        }
    )
    monkeypatch.setenv(ENV + "ACME__TIMEZONE", "UTC")  # the environment wins over files
    monkeypatch.setenv(ENV + "GLOBEX__START_DATE", "2025-01-01")
    monkeypatch.setenv(ENV + "GLOBEX__FILTERS", '{"agents": {"values": ["a@b.c"]}}')
    listed = [EnvironProvider(), secrets, config, vault]
    container = Container()[PluggableRunContext].providers
    monkeypatch.setattr(container, "providers", listed)
    yield listed


def test_each_value_is_what_dlt_accessors_find(providers: list[ConfigProvider]) -> None:
    values = SectionValues()
    assert values.names == {"acme", "globex", "hooli", "initech"}
    for name in sorted(values.names - {"hooli"}):
        for key, kind in KEYS.items():
            path = f"sources.livechat.accounts.{name}.{key}"
            expected = dlt.secrets.get(path, kind)
            if expected is None:
                expected = dlt.config.get(path, kind)
            assert values.get(name, key, kind) == expected, path
    assert values.get("acme", "account_id", str) == "acme-from-secrets"  # secrets before config
    assert values.get("acme", "breakdown_groups", str) == "[1,4]"  # a TOML array, as JSON text
    assert values.get("globex", "filters", dict) == {"agents": {"values": ["a@b.c"]}}
    assert values.get("initech", "personal_access_token", str) == "pat-initech-vault"


def test_document_providers_are_read_once_and_vaults_by_key(
    providers: list[ConfigProvider],
) -> None:
    config, vault = providers[2], providers[3]
    assert isinstance(config, Counted) and isinstance(vault, Vault)
    values = SectionValues()
    vault.asked.clear()
    for _ in range(100):
        for key, kind in KEYS.items():
            values.get("initech", key, kind)
    assert config.asked == 1
    assert len(vault.asked) == 100 * len(KEYS)


def test_a_value_of_the_wrong_kind_names_the_account_and_the_key(
    providers: list[ConfigProvider],
) -> None:
    with pytest.raises(AccountConfigError, match="Account `hooli`: `shard` cannot be read as int"):
        SectionValues().get("hooli", "shard", int)


def file_accounts(monkeypatch: pytest.MonkeyPatch, *rows: str) -> None:
    Path("accounts.csv").write_text("name,account_id,timezone\n" + "\n".join(rows) + "\n")
    monkeypatch.setenv("SOURCES__LIVECHAT__ACCOUNTS_FILE", "accounts.csv")


def test_file_accounts_take_their_token_and_unset_settings_from_their_section(
    clean: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_accounts(monkeypatch, "acme,acme-id,Europe/Warsaw", "globex,globex-id,")
    monkeypatch.setenv(ENV + "ACME__PERSONAL_ACCESS_TOKEN", "pat-acme")
    monkeypatch.setenv(ENV + "GLOBEX__ACCESS_TOKEN", "oauth-globex")
    monkeypatch.setenv(ENV + "GLOBEX__FILTERS", '{"agents": {"values": ["a@b.c"]}}')
    monkeypatch.setenv(ENV + "GLOBEX__SHARD", "1")
    monkeypatch.setenv(ENV + "INITECH__ACCOUNT_ID", "initech-id")  # a section account beside
    monkeypatch.setenv(ENV + "INITECH__PERSONAL_ACCESS_TOKEN", "pat-initech")
    assert configured_names() == ["acme", "globex", "initech"]
    assert configured_account_ids() == ["acme-id", "globex-id", "initech-id"]
    acme, globex, initech = read_accounts()
    assert (acme.account_id, acme.overrides, acme.shard) == (
        "acme-id",
        {"timezone": "Europe/Warsaw"},
        None,
    )
    assert acme.credentials.personal_access_token == "pat-acme"  # type: ignore[attr-defined]
    assert globex.credentials.access_token == "oauth-globex"  # type: ignore[attr-defined]
    assert globex.overrides == {"filters": {"agents": {"values": ["a@b.c"]}}}
    assert globex.shard == 1
    assert initech.account_id == "initech-id"
    assert [a.name for a in read_accounts(["initech", "acme"])] == ["initech", "acme"]


@pytest.mark.parametrize(
    ("env", "words"),
    [
        (
            {"ACME__ACCOUNT_ID": "acme-id"},
            "Account `acme` is in the accounts file (accounts.csv:2) and has a section of its own"
            " with an account_id",
        ),
        (
            {"ACME__TIMEZONE": "UTC"},
            "Account `acme` sets `timezone` both in the accounts file (accounts.csv:2) and in"
            " [sources.livechat.accounts.acme]",
        ),
        (
            {"UMBRELLA__ACCOUNT_ID": "globex-id", "UMBRELLA__PERSONAL_ACCESS_TOKEN": "pat-u"},
            "Accounts `globex` (accounts.csv:3) and `umbrella` (section"
            " [sources.livechat.accounts.umbrella]) both name account_id `globex-id`",
        ),
        (
            {"HOOLI__PERSONAL_ACCESS_TOKEN": "pat-h"},  # left over from a removed row
            "Account `hooli` has no account_id: set it in [sources.livechat.accounts.hooli] (or"
            " SOURCES__LIVECHAT__ACCOUNTS__HOOLI__...), or list `hooli` in accounts file"
            " `accounts.csv`",
        ),
    ],
)
def test_an_account_said_twice_is_refused(
    clean: None, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], words: str
) -> None:
    file_accounts(monkeypatch, "acme,acme-id,Europe/Warsaw", "globex,globex-id,")
    for name in ("ACME", "GLOBEX"):
        monkeypatch.setenv(f"{ENV}{name}__PERSONAL_ACCESS_TOKEN", f"pat-{name}")
    for key, value in env.items():
        monkeypatch.setenv(ENV + key, value)
    with pytest.raises(AccountConfigError) as caught:
        read_accounts()
    assert words in str(caught.value)


def test_every_account_without_a_token_is_named_at_once(
    clean: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_accounts(monkeypatch, *(f"client_{i},id-{i}," for i in range(9)))
    monkeypatch.setenv(ENV + "CLIENT_4__PERSONAL_ACCESS_TOKEN", "pat-4")
    with pytest.raises(AccountConfigError) as caught:
        read_accounts()
    assert str(caught.value) == (
        "Account `client_0` (accounts.csv:2) has no token: set"
        " SOURCES__LIVECHAT__ACCOUNTS__CLIENT_0__PERSONAL_ACCESS_TOKEN (or"
        " SOURCES__LIVECHAT__ACCOUNTS__CLIENT_0__ACCESS_TOKEN for OAuth), or personal_access_token"
        " in [sources.livechat.accounts.client_0] of .dlt/secrets.toml or any secret provider dlt"
        " reads; tokens never go in the accounts file. 7 more accounts have no token: client_1,"
        " client_2, client_3, client_5, client_6 and 2 more."
    )
    assert read_accounts(["client_4"])[0].account_id == "id-4"  # only the selected need one
    with pytest.raises(AccountConfigError, match="No account `umbrella` in accounts file"):
        read_accounts(["client_4", "umbrella"])
