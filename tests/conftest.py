"""Shared fixtures: one builds a database (SQLite and PostgreSQL), one a Twilio test server."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from tests.support.databases import PostgresScratch, SqliteTemplate, require_postgres
from tests.support.fake_twilio import FakeTwilio
from tests.support.inbox import inbox_poller, send_inbound  # noqa: F401 - shared fixtures
from trustpager_desktop.core.clock import FixedClock

# GUI tests run without a screen; nothing may reach the internet.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The computer's own zone is UTC in every run, so times that name the business zone where it
# differs ("10:04 EST") read the same on any machine.
os.environ["TZ"] = "UTC"
time.tzset()
for _var in (
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TRUSTPAGER_TWILIO_FROM",
    "TRUSTPAGER_DB_URL",
):
    os.environ.pop(_var, None)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def _postgres_scratch():
    require_postgres()
    scratch = PostgresScratch()
    yield scratch
    scratch.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path):
    """A fresh, migrated database: every test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        database = request.getfixturevalue("_sqlite_template").fresh(tmp_path)
        yield database
        database.close()
    else:
        yield request.getfixturevalue("_postgres_scratch").fresh()


@pytest.fixture
def sqlite_db(_sqlite_template, tmp_path):
    """A fresh SQLite database, for tests about SQLite itself or the GUI."""
    database = _sqlite_template.fresh(tmp_path)
    yield database
    database.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture(scope="session")
def fake_twilio_server() -> Iterator[FakeTwilio]:
    """A local stand-in for Twilio's REST API on 127.0.0.1 (tests/support/fake_twilio.py)."""
    server = FakeTwilio().start()
    yield server
    server.stop()


@pytest.fixture
def fake_twilio(fake_twilio_server: FakeTwilio) -> Iterator[FakeTwilio]:
    """The shared server, reset (messages, request log, faults) before and after each test."""
    fake_twilio_server.start()  # in case an earlier test stopped it
    fake_twilio_server.reset()
    yield fake_twilio_server
    fake_twilio_server.reset()
    fake_twilio_server.start()


@pytest.fixture
def twilio_provider(fake_twilio: FakeTwilio):
    """The real Twilio provider (real `twilio` client) pointed at the local server."""
    from trustpager_desktop.providers.twilio_provider import TwilioProvider

    return TwilioProvider(
        fake_twilio.account_sid,
        fake_twilio.auth_token,
        fake_twilio.phone_number,
        api_base=fake_twilio.base_url,
        timeout=2.0,
    )


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    """Print the reliability figures (tests/support/figures.py) at the end of every run."""
    from tests.support import figures

    values = figures.snapshot()
    if not any(values.values()):
        return
    mode = "soak" if figures.soak() else "bounded"
    terminalreporter.section(f"reliability figures ({mode})")
    rates = figures.rates()
    for name in figures.FIGURE_NAMES:
        line = f"{name}: {values[name]}"
        if name in rates:
            seconds, per_minute = rates[name]
            line += f" in {seconds:.0f} s ({per_minute:.1f} a minute)"
        terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    """Each test gets its own user data folder (its own log key and chain heads) and its
    own config folder (this desktop's name): never the real home's."""
    monkeypatch.setenv("TRUSTPAGER_DATA_DIR", str(tmp_path_factory.mktemp("userdata")))
    monkeypatch.setenv("TRUSTPAGER_CONFIG_DIR", str(tmp_path_factory.mktemp("userconfig")))
