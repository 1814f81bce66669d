"""Choosing the provider: Twilio when it is set up, the offline sandbox otherwise."""

from __future__ import annotations

from dataclasses import dataclass

from trustpager_desktop.core.credentials import CredentialsError, TokenStore, resolve_credentials
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.providers.base import SmsProvider
from trustpager_desktop.providers.sandbox_provider import SandboxProvider

SANDBOX_DESCRIPTION = "Sandbox: no texts leave this computer"


@dataclass(frozen=True)
class ProviderChoice:
    provider: SmsProvider
    is_sandbox: bool
    warning: str = ""  # e.g. Twilio chosen but not usable

    @property
    def description(self) -> str:
        return self.provider.description


def choose_provider(
    settings: AppSettings, tokens: TokenStore, env: dict[str, str] | None = None
) -> ProviderChoice:
    """Never raises: a broken Twilio set-up falls back to the sandbox with a warning,
    so the application always starts and nothing is texted by accident."""
    if settings.provider_mode == "sandbox":
        return ProviderChoice(SandboxProvider(), True)
    try:
        credentials = resolve_credentials(settings, tokens, env)
    except CredentialsError as exc:
        return ProviderChoice(SandboxProvider(), True, f"{exc} Using the sandbox until then.")
    if credentials is None:
        warning = (
            "Twilio is selected but the Account SID, Auth Token or sending number is missing; "
            "using the sandbox until they are set."
            if settings.provider_mode == "twilio"
            else ""
        )
        return ProviderChoice(SandboxProvider(), True, warning)
    from trustpager_desktop.providers.twilio_provider import TwilioProvider

    try:
        provider = TwilioProvider(
            credentials.account_sid,
            credentials.auth_token,
            credentials.sender,
            api_base=credentials.api_base,
        )
    except ValueError as exc:
        return ProviderChoice(SandboxProvider(), True, f"Twilio settings are not usable: {exc}")
    return ProviderChoice(provider, False)
