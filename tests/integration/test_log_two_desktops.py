"""Two desktops, each with its own log key, append to one PostgreSQL database at the same
time: the chain stays one line, each entry names its desktop's key, and a third computer
holding both keys proves every entry."""

import os
import subprocess
import sys

import pytest

from trustpager_desktop.core import log_keys, log_verify

APPENDER = """
import sys
from trustpager_desktop.core import activity
from trustpager_desktop.core.states import ActivityKind
from trustpager_desktop.store.database import Database
db = Database.open(sys.argv[1])
for i in range(int(sys.argv[2])):
    with db.write() as s:
        activity.append(s, activity.LogEntry(kind=ActivityKind.MANUAL_SEND, summary=f"{sys.argv[3]} {i}", actor=sys.argv[3]))
db.close()
"""


@pytest.mark.postgres
def test_two_desktops_append_at_once_and_a_third_proves_both(_postgres_scratch, tmp_path, clock):
    db = _postgres_scratch.fresh()
    desks = {name: tmp_path / name for name in ("front", "back")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, db.url, "60", name],
            env={**os.environ, "TRUSTPAGER_DATA_DIR": str(folder)},
        )
        for name, folder in desks.items()
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    ring = log_keys.key_ring(tmp_path / "auditor")
    for folder in desks.values():
        log_keys.key_ring(folder).export_to(folder / "keys.json")
        ring.import_from(folder / "keys.json")
    report = log_verify.verify_log(db, full=True, clock=clock, ring=ring)
    assert report.complete, report.describe()
    assert report.entries == 120 and report.checked == 120
    with db.read() as s:
        walk = log_verify.walk_chain(s, ring=log_keys.key_ring(desks["front"]))
    assert walk.unchecked == {log_keys.key_ring(desks["back"]).own_key().key_id: 60}
