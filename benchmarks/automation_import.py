"""Importing automation JSON files: a large valid one, and hostile ones refused early.

    python benchmarks/automation_import.py [--runs R]

Measures, several runs each (median and spread):

- reading and checking a file close to the largest the limits allow (500 automations of
  12 steps with 480-character texts, about 1.9 MB of the 2 MB limit): size, depth scan,
  JSON, schema, the editor's rules; the floor is ``json.loads`` of the same text;
- importing that file into a fresh SQLite database (one transaction);
- refusing a 53 MB file (by its size, before reading it; issue 13 took 169 s to import one);
- refusing JSON nested 100,000 deep (before the parser recurses; issue 13: RecursionError).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TRUSTPAGER_DATA_DIR", "/tmp/trustpager-bench-userdata")

from benchmarks._timing import measure, report  # noqa: E402
from trustpager_desktop.core import automation_file, automations  # noqa: E402
from trustpager_desktop.core.errors import UserInputError  # noqa: E402
from trustpager_desktop.store.database import Database  # noqa: E402

SENTENCE = "Hi {first_name}, a reminder from {company}: your appointment is tomorrow. "


STEPS = 12


def _steps(i: int) -> list[dict]:
    """Texts of 6-7 sentences (about 480 characters) with waits between, then a task."""
    steps: list[dict] = []
    for n in range(STEPS // 2 - 1):
        steps.append({"action": "send_sms", "template": SENTENCE * (6 + (i + n) % 2)})
        steps.append({"action": "wait", "seconds": 86_400})
    steps.append({"action": "send_sms", "template": SENTENCE * 6})
    steps.append({"action": "create_task", "title": "Call {full_name} back"})
    return steps


def large_file(folder: Path, count: int = 500) -> Path:
    data = {
        "format": "trustpager-automations",
        "version": 1,
        "automations": [
            {
                "name": f"Automation {i:03d}",
                "enabled": i % 2 == 0,
                "schedule": {"trigger": "cron", "day_of_week": "mon-fri", "hour": 9,
                             "audience": {"tag": f"tag{i % 7}"}},
                "steps": _steps(i),
            }
            for i in range(count)
        ],
    }  # fmt: skip
    path = folder / "large.json"
    path.write_text(json.dumps(data, indent=1), "utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="trustpager-bench-automations-"))
    path = large_file(folder)
    size = path.stat().st_size
    print(f"Large file: {size / 1024 / 1024:.2f} MB, 500 automations of {STEPS} steps\n")

    text = path.read_text("utf-8")
    floor = measure(lambda: json.loads(text), args.runs)
    report("floor: json.loads of the same text", floor)

    def check() -> None:
        automations.parse_export(automation_file.read_file(path))

    report("read and check the file (no database)", measure(check, args.runs), floor=floor)

    def import_once() -> None:
        db_path = folder / "import.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        db = Database.open(f"sqlite:///{db_path}")
        try:
            data = automation_file.read_file(path)
            with db.write() as session:
                automations.import_automations(session, data)
        finally:
            db.close()

    report("import into a fresh SQLite database", measure(import_once, max(3, args.runs // 2)))

    huge = folder / "huge.json"
    with open(huge, "wb") as handle:
        handle.write(b'{"format": "trustpager-automations", "version": 1, "automations": [')
        handle.truncate(53 * 1024 * 1024)

    def refuse(target: Path) -> None:
        try:
            automation_file.read_file(target)
        except UserInputError:
            return
        raise AssertionError(f"{target} was not refused")

    report("refuse a 53 MB file (by size)", measure(lambda: refuse(huge), args.runs))
    deep = folder / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    report("refuse JSON nested 100,000 deep", measure(lambda: refuse(deep), args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
