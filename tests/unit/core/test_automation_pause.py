from sqlalchemy import select

from trustpager_desktop.core.automation_pause import automations_paused, set_automations_paused
from trustpager_desktop.core.states import ActivityKind
from trustpager_desktop.store.models import ActivityEntry


def settings_entries(db) -> list[str]:
    with db.read() as s:
        return list(
            s.scalars(
                select(ActivityEntry.summary)
                .where(ActivityEntry.kind == ActivityKind.SETTINGS_CHANGE)
                .order_by(ActivityEntry.id)
            )
        )


def test_automations_run_until_paused_and_the_pause_is_logged(db, clock):
    with db.read() as s:
        assert automations_paused(s) is False
    assert set_automations_paused(db, True, actor="Dana", clock=clock) is True
    with db.read() as s:
        assert automations_paused(s) is True
    assert set_automations_paused(db, True, actor="Dana", clock=clock) is False  # no change
    assert set_automations_paused(db, False, actor="Dana", clock=clock) is True
    with db.read() as s:
        assert automations_paused(s) is False
    assert settings_entries(db) == ["Automations paused", "Automations resumed"]


def test_the_tray_pause_is_the_flag_the_auto_queue_obeys(db, clock):
    from trustpager_desktop.core import auto_queue

    set_automations_paused(db, True, actor="Ann", clock=clock)
    with db.read() as s:
        assert auto_queue.is_paused(s)
    set_automations_paused(db, False, actor="Ann", clock=clock)
    with db.read() as s:
        assert not auto_queue.is_paused(s)
