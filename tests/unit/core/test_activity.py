import pytest

from tests.support.records import tamper
from trustpager_desktop.core import activity
from trustpager_desktop.core.states import ActivityKind


def _log(db, clock, n):
    with db.write() as s:
        for i in range(n):
            activity.append(
                s,
                activity.LogEntry(
                    kind=ActivityKind.OPT_OUT, summary=f"entry {i}", actor="t", contact_id=1
                ),
                clock=clock,
            )


def test_an_untouched_chain_verifies(db, clock):
    _log(db, clock, 30)
    with db.read() as s:
        report = activity.verify_chain(s, batch_size=7)
    assert report.ok and report.checked == 30
    assert "30 entries verified" in report.describe()


def test_empty_log_verifies(db):
    with db.read() as s:
        assert activity.verify_chain(s).ok


@pytest.mark.parametrize(
    ("statement", "broken_id"),
    [
        ("UPDATE activity_log SET summary = 'nothing happened' WHERE id = 12", 12),
        ("DELETE FROM activity_log WHERE id = 5", 6),
        (
            "UPDATE activity_log SET occurred_at = occurred_at WHERE id = 3; "
            "UPDATE activity_log SET actor = 'someone else' WHERE id = 20",
            20,
        ),
    ],
)
def test_editing_or_deleting_an_entry_is_detected_at_that_point(db, clock, statement, broken_id):
    _log(db, clock, 25)
    for part in statement.split("; "):
        tamper(db, part)
    with db.read() as s:
        report = activity.verify_chain(s, batch_size=4)
    assert not report.ok
    assert report.first_broken_id == broken_id
    assert f"altered at entry {broken_id}" in report.describe()


def test_entries_read_back_as_plain_data_newest_first(db, clock):
    _log(db, clock, 3)
    with db.read() as s:
        views = activity.for_contact(s, 1)
    assert [v.summary for v in views] == ["entry 2", "entry 1", "entry 0"]
    assert views[0].kind_label == "Opt-out"
