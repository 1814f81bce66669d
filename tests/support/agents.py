"""Starting the headless agent (`trustpager agent`) as a real process against the local
Twilio server, for the crash and multi-process tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def agent_env(fake, tmp_path: Path, url: str, logs: str = "logs") -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The environment of an agent on database ``url`` talking to ``fake``; nothing of
    the machine's own Twilio, keyring or folders leaks in."""
    env = {k: v for k, v in os.environ.items() if k not in ("TWILIO_EDGE", "TWILIO_REGION")}
    env.update(
        TRUSTPAGER_DB_URL=url,
        TRUSTPAGER_LOG_DIR=str(tmp_path / logs),
        TWILIO_ACCOUNT_SID=fake.account_sid,
        TWILIO_AUTH_TOKEN=fake.auth_token,
        TRUSTPAGER_TWILIO_FROM=fake.phone_number,
        TRUSTPAGER_TWILIO_API_BASE=fake.base_url,
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    return env


def start_agent(env: dict[str, str], *args: str, quiet: bool = False) -> subprocess.Popen:
    """``trustpager agent *args``; its output piped (or dropped when ``quiet``)."""
    return subprocess.Popen(
        [sys.executable, "-m", "trustpager_desktop.cli", "agent", *args],
        env=env,
        stdout=subprocess.DEVNULL if quiet else subprocess.PIPE,
        stderr=subprocess.DEVNULL if quiet else subprocess.STDOUT,
        cwd=REPO,
    )
