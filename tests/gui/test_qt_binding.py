"""The Qt binding the application runs on is one it can run on for days.

PySide6 6.12.0's ``Signal.emit()`` drops a reference to ``True`` that it never took;
after enough signals (a busy afternoon of background reads and live updates) Python
frees ``True`` and the window aborts with "bool_dealloc". pyproject.toml leaves that
version out; this test fails on any binding with the same fault. It runs in a child
process, because on a faulty binding the emits themselves abort the interpreter."""

from __future__ import annotations

import subprocess
import sys

EMITS = 200_000

CHECK = f"""
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal
app = QCoreApplication([])
class Source(QObject):
    with_value = Signal(object)
    bare = Signal()
source = Source()
source.with_value.connect(lambda _value: None)
source.bare.connect(lambda: None)
before = sys.getrefcount(True), sys.getrefcount(False)
for n in range({EMITS}):
    source.with_value.emit(n)
    source.bare.emit()
after = sys.getrefcount(True), sys.getrefcount(False)
print(after[0] - before[0], after[1] - before[1])
"""


def test_signals_can_be_emitted_all_day_without_losing_a_reference():
    run = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"the Qt binding aborted after signals: {run.stderr[-500:]}"
    assert run.stdout.split() == ["0", "0"], f"references to True/False lost: {run.stdout}"
