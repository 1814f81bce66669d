"""Who did it (issue 15 item 3): each desktop acts under its own name, kept in a file on
that computer, so two desktops on one shared database show two names in the log, in the
consent events and on review decisions; `trustpager --as NAME` overrides it for one run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from trustpager_desktop.cli import main
from trustpager_desktop.core import inbox, local_settings
from trustpager_desktop.core.clock import SYSTEM_CLOCK
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.states import ActivityKind
from trustpager_desktop.providers.base import InboundRecord
from trustpager_desktop.services import AppServices
from trustpager_desktop.store.models import ActivityEntry, ConsentEvent, InboundMessage, Setting

ANN, BOB = "+14155550101", "+14155550102"


def _on_desktop(monkeypatch, tmp_path, desk: str) -> None:
    """Run the next commands as the desktop whose config folder is ``desk``."""
    monkeypatch.setenv(local_settings.CONFIG_DIR_ENV, str(tmp_path / desk))


def _actors(db, kind: str) -> list[str]:
    with db.read() as s:
        return list(
            s.scalars(
                select(ActivityEntry.actor)
                .where(ActivityEntry.kind == kind)
                .order_by(ActivityEntry.id)
            )
        )


def _pending_reply(db, sid: str, sender: str) -> int:
    sent = datetime.now(UTC) - timedelta(minutes=1)
    record = InboundRecord(sid, sender, "+1", "please no more texts", sent, "inbound")
    inbox.store_inbound(db, [record], SYSTEM_CLOCK)
    inbox.process_pending(db, SYSTEM_CLOCK)
    with db.read() as s:
        return s.scalar(select(InboundMessage.id).where(InboundMessage.sid == sid))


def test_two_desktops_on_one_database_show_two_names(db, tmp_path, monkeypatch, capsys):
    _on_desktop(monkeypatch, tmp_path, "front-desk")
    assert main(["--db", db.url, "name", "Maria"]) == 0
    assert main(["--db", db.url, "contacts", "add", "Ann", "--phone", ANN]) == 0
    _on_desktop(monkeypatch, tmp_path, "back-office")
    assert main(["--db", db.url, "name", "Dan"]) == 0
    assert main(["--db", db.url, "contacts", "add", "Bob", "--phone", BOB]) == 0
    assert _actors(db, ActivityKind.CONTACT_CREATED) == ["Maria", "Dan"]

    # A review decision and the consent event it writes carry the deciding desktop's name.
    first = _pending_reply(db, "SMnames1", ANN)
    second = _pending_reply(db, "SMnames2", BOB)
    _on_desktop(monkeypatch, tmp_path, "front-desk")
    assert main(["--db", db.url, "review", "decide", str(first), "opt-out"]) == 0
    _on_desktop(monkeypatch, tmp_path, "back-office")
    assert main(["--db", db.url, "review", "decide", str(second), "opt-out"]) == 0
    assert _actors(db, ActivityKind.REVIEW_DECISION) == ["Maria", "Dan"]
    with db.read() as s:
        reviewed = list(s.scalars(select(InboundMessage.reviewed_by).order_by(InboundMessage.id)))
        events = list(s.scalars(select(ConsentEvent.actor).order_by(ConsentEvent.id)))
        assert s.scalar(select(Setting).where(Setting.key == "user_name")) is None
    assert reviewed == ["Maria", "Dan"] and events == ["Maria", "Dan"]


def test_as_overrides_the_name_for_one_command(db, tmp_path, monkeypatch, capsys):
    _on_desktop(monkeypatch, tmp_path, "front-desk")
    assert main(["--db", db.url, "name", "Maria"]) == 0
    assert main(["--db", db.url, "--as", "Temp Sam", "contacts", "add", "Ann"]) == 0
    assert main(["--db", db.url, "contacts", "add", "Bob"]) == 0
    assert _actors(db, ActivityKind.CONTACT_CREATED) == ["Temp Sam", "Maria"]
    capsys.readouterr()
    assert main(["--db", db.url, "--as", "Inbox", "contacts", "add", "Cy"]) == 2
    assert "choose your own name" in capsys.readouterr().err
    assert _actors(db, ActivityKind.CONTACT_CREATED) == [
        "Temp Sam",
        "Maria",
    ]  # nothing else happened


def test_with_no_name_a_desktop_is_its_login_on_its_computer(db, tmp_path, capsys):
    services = AppServices(db, local_path=tmp_path / "desk" / "desktop.json")
    assert services.actor == local_settings.default_name()
    assert " on " in services.actor
    assert main(["--db", db.url, "name"]) == 0
    assert f"{local_settings.default_name()} (the default: none given)" in capsys.readouterr().out


def test_a_name_kept_in_the_database_moves_to_the_first_desktop_only(db, tmp_path):
    with db.write() as s:  # what earlier versions stored, for every desktop at once
        s.add(Setting(key="user_name", value="Dana"))
    first = AppServices(db, local_path=tmp_path / "one" / "desktop.json")
    second = AppServices(db, local_path=tmp_path / "two" / "desktop.json")
    assert first.actor == "Dana"
    assert local_settings.load(tmp_path / "one" / "desktop.json").user_name == "Dana"
    assert second.actor == local_settings.default_name()  # not a copy of someone else's name
    with db.read() as s:
        assert s.scalar(select(Setting).where(Setting.key == "user_name")) is None
    assert _actors(db, ActivityKind.SETTINGS_CHANGE) == ["Dana"]  # the move is in the log


def test_renaming_a_desktop_is_logged_and_a_bad_name_changes_nothing(db, tmp_path):
    path = tmp_path / "desk" / "desktop.json"
    services = AppServices(db, local_path=path)
    services.set_user_name("Maria")
    services.set_user_name("Maria")  # the same name again: nothing new
    with pytest.raises(UserInputError, match="too long"):
        services.set_user_name("M" * 101)
    assert services.actor == "Maria" and local_settings.load(path).user_name == "Maria"
    with db.read() as s:
        summaries = list(s.scalars(select(ActivityEntry.summary)))
    assert len(summaries) == 1
    assert f"from '{local_settings.default_name()}' to 'Maria'" in summaries[0]


def test_a_damaged_settings_file_falls_back_to_the_default(db, tmp_path):
    path = tmp_path / "desktop.json"
    path.write_text("{not json", encoding="utf-8")
    assert AppServices(db, local_path=path).actor == local_settings.default_name()
