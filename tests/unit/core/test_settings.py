import dataclasses

import pytest
from sqlalchemy import select

from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.settings import AppSettings, load_settings, save_settings
from trustpager_desktop.core.states import ActivityKind
from trustpager_desktop.store.models import ActivityEntry


def test_defaults_when_nothing_is_stored(db):
    with db.read() as s:
        assert load_settings(s) == AppSettings()


def test_saved_settings_survive_and_changes_are_logged(db, clock):
    new = dataclasses.replace(
        AppSettings(), default_country="gb", poll_interval_seconds=45, first_run_done=True
    )
    with db.write() as s:
        changed = save_settings(s, new, actor="Ann", clock=clock)
    assert sorted(changed) == ["default_country", "first_run_done", "poll_interval_seconds"]
    with db.read() as s:
        loaded = load_settings(s)
        entry = s.scalars(select(ActivityEntry)).one()
    assert (loaded.default_country, loaded.poll_interval_seconds, loaded.first_run_done) == (
        "GB",
        45,
        True,
    )
    assert entry.kind == ActivityKind.SETTINGS_CHANGE and "Inbox check interval" in entry.summary


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"default_country": "XX"}, "not a country code"),
        ({"business_timezone": "Mars/Olympus"}, "not a time zone"),
        ({"poll_interval_seconds": 1}, "every 5 to 3600"),
        ({"quiet_hours_start": 22, "quiet_hours_end": 8}, "must start before it ends"),
        ({"twilio_sender": "4155550100"}, "E.164"),
        ({"twilio_account_sid": "XY123"}, "starts with AC"),
    ],
)
def test_invalid_settings_are_refused_and_nothing_changes(db, clock, change, message):
    with pytest.raises(UserInputError, match=message), db.write() as s:
        save_settings(s, dataclasses.replace(AppSettings(), **change), actor="Ann", clock=clock)
    with db.read() as s:
        assert load_settings(s) == AppSettings()
