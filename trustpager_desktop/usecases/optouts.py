"""The Opt-outs page and its do-not-contact import: the list automations will not text,
checking a DNC file, importing it (with progress and Cancel) and exporting the list.

Each call is meant for the background runner; the work itself is core's (``core.exports``
for the list, ``core.dnc_list`` for the file), nothing is decided here.
"""

from __future__ import annotations

import os

from trustpager_desktop.core import dnc_list, exports
from trustpager_desktop.core.dnc_list import DncOutcome, DncPlan
from trustpager_desktop.core.exports import OptOutRow
from trustpager_desktop.core.progress import Progress
from trustpager_desktop.store import change_marker as topic
from trustpager_desktop.usecases.base import ScreenService
from trustpager_desktop.usecases.result import Outcome, attempt

PathLike = str | os.PathLike[str]
# An import opts contacts out and holds numbers (contacts), and notes it in the log.
CHANGED = (topic.CONTACTS, topic.ACTIVITY)


class OptOutsService(ScreenService):
    def rows(self) -> tuple[OptOutRow, ...]:
        """Every opt-out in force, one row per number."""
        with self.db.read() as s:
            return tuple(exports.optout_rows(s))

    def read_file(self, path: PathLike) -> Outcome[DncPlan]:
        """Read and check a do-not-contact list (nothing is written): its numbers and its
        bad rows by line, or why the file cannot be imported at all."""
        return attempt(lambda: dnc_list.read_dnc_file(path, self.region))

    def import_list(
        self,
        path: PathLike,
        *,
        mode: str,
        plan: DncPlan | None = None,
        progress: Progress | None = None,
    ) -> Outcome[DncOutcome]:
        """Import the checked list at ``path`` in one transaction, recording the actor.
        A cancel (``progress`` answering False) raises ``Cancelled`` and changes nothing."""

        def write() -> DncOutcome:
            return dnc_list.import_dnc_list(
                self.db, path, actor=self.actor, mode=mode, default_region=self.region,
                clock=self.clock, progress=progress, plan=plan,
            )  # fmt: skip

        outcome = attempt(write)
        if outcome.ok and outcome.unwrap().new:
            self.publish(CHANGED)
        return outcome

    def export(self, path: PathLike, progress: Progress | None = None) -> Outcome[int]:
        """Write the opt-out list to ``path`` (CSV); how many numbers were written."""

        def write() -> int:
            with self.db.read() as s:
                return exports.export_optouts(s, path, progress)

        return attempt(write)
