"""Tasks as plain data for the contact page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustpager_desktop.store.models import Task


@dataclass(frozen=True)
class TaskView:
    id: int
    title: str
    due_at: datetime | None
    done: bool
    from_automation: bool


def tasks_for_contact(session: Session, contact_id: int) -> list[TaskView]:
    """The contact's tasks: open ones first, then by due date (undated last), then oldest first."""
    rows = session.scalars(
        select(Task)
        .where(Task.contact_id == contact_id)
        .order_by(Task.done, Task.due_at.is_(None), Task.due_at, Task.id)
    )
    return [
        TaskView(
            id=t.id,
            title=t.title,
            due_at=t.due_at,
            done=t.done,
            from_automation=t.automation_id is not None,
        )
        for t in rows
    ]
