"""Batch statements (store/bulk.py): the same rows and the same compare-and-set on SQLite
(executemany) and PostgreSQL (one statement of arrays)."""

from datetime import UTC, datetime

from sqlalchemy import select

from tests.support.contacts import add_contact
from trustpager_desktop.core.clock import SYSTEM_CLOCK
from trustpager_desktop.store import bulk
from trustpager_desktop.store.models import Task

WHEN = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
TABLE = Task.__table__


def _tasks(db, count: int) -> list[int]:
    with db.write() as s:
        cid = add_contact(s, SYSTEM_CLOCK, "Ann", phone="+14155550101")
        bulk.insert_rows(
            s.connection(),
            TABLE,
            [
                {
                    "contact_id": cid,
                    "title": f"Call {i}",
                    "due_at": WHEN if i else None,
                    "done": False,
                    "automation_id": None,
                    "queue_item_id": None,
                    "created_at": WHEN,
                }
                for i in range(count)
            ],  # fmt: skip
        )
    with db.read() as s:
        return list(s.scalars(select(Task.id).order_by(Task.id)))


def test_insert_rows_stores_every_value_with_its_type(db):
    ids = _tasks(db, 3)
    with db.read() as s:
        rows = s.execute(select(Task.title, Task.due_at, Task.done).order_by(Task.id)).all()
    assert len(ids) == 3
    assert [tuple(r) for r in rows] == [("Call 0", None, False), ("Call 1", WHEN, False),
                                        ("Call 2", WHEN, False)]  # fmt: skip


def test_update_rows_changes_only_rows_that_still_match_and_says_which(db):
    first, second, third = _tasks(db, 3)
    with db.write() as s:
        s.get(Task, second).done = True  # someone else decided meanwhile
    with db.write() as s:
        changed = bulk.update_rows(
            s.connection(),
            TABLE,
            [{"task": i, "title": f"Renamed {i}", "due_at": None} for i in (first, second, third)],
            key="task",
            only_where={"done": False},
        )
    assert changed == {first, third}
    with db.read() as s:
        titles = list(s.scalars(select(Task.title).order_by(Task.id)))
    assert titles == [f"Renamed {first}", "Call 1", f"Renamed {third}"]


def test_id_in_matches_the_same_rows_on_both_databases(db):
    ids = _tasks(db, 5)
    with db.read() as s:
        dialect = s.get_bind().dialect.name
        found = s.scalars(select(Task.id).where(bulk.id_in(Task.id, ids[1:4], dialect)))
        assert sorted(found) == ids[1:4]
