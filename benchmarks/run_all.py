"""Run every benchmark, one after another, and tee their output.

    python benchmarks/run_all.py [--log FILE]     (or: make bench)

Each script stays runnable alone; this only runs them in sequence with the same
Python, prints what each prints as it comes, and writes the lot to ``--log``
(default benchmarks/last-run.txt). Data sets are built once and cached in /tmp.
Exit status is 1 when a script failed (not when a target was missed: a missed
target is a figure to read, not an error).
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    "contact_search.py",
    "contact_browser.py",
    "cold_start.py",
    "memory.py",
    "activity_log.py",
    "insights_page.py",
    "dispatch.py",
    "inbox_ingest.py",
    "inbox_requests.py",
    "remote_database.py",
    "automation_import.py",
    "dnc_import.py",
    "bundle_size.py",  # the last `make package` build; says so when there is none
]


def run(script: str, log) -> int:  # type: ignore[no-untyped-def]
    """Run one script, copying each output line to the terminal and the log."""
    header = f"\n=== {script} ===\n"
    print(header, end="", flush=True)
    log.write(header)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1")
    began = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, str(HERE / script)],
        cwd=HERE.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "propagateSizeHints" in line:  # offscreen Qt noise
                continue
            print(line, end="", flush=True)
            log.write(line)
    footer = f"--- {script}: exit {proc.returncode}, {time.perf_counter() - began:.0f} s\n"
    print(footer, end="", flush=True)
    log.write(footer)
    return proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, default=HERE / "last-run.txt")
    parser.add_argument("only", nargs="*", help="run only these scripts (e.g. memory.py)")
    args = parser.parse_args()
    failed = []
    with args.log.open("w", encoding="utf-8", buffering=1) as log:  # line by line, like tee
        log.write(f"benchmarks run {datetime.datetime.now().isoformat(timespec='seconds')}\n")
        for script in args.only or SCRIPTS:
            if run(script, log) != 0:
                failed.append(script)
    print(f"\nOutput saved to {args.log}" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
