"""What ``packaging/trustpager.spec`` leaves out of the bundle, and the mechanics of it.

The spec lists *what* is left out and *why* (its ``LEFT_OUT_*`` tables); this module does
the work on PyInstaller's tables of contents, lists of ``(dest_name, src_name, typecode)``
entries, and returns new lists. It imports nothing from PyInstaller at module level, so
the unit tests can use it without a build.

- ``split``: entries whose destination matches a pattern are left out.
- ``without_orphans``: after that, the shared libraries that only the left-out files
  needed (the GTK stack of Qt's gtk3 theme plugin, say) go too. A library that anything
  kept still loads stays, so nothing the bundle runs loses a dependency.
- ``strip_debug_info``: Linux copies of binaries without their DWARF debug sections
  (``strip --strip-debug``); a copy whose loadable segments moved is not used.
- ``unused_twilio_domains``: the ``twilio.rest`` API packages the application never calls.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from collections.abc import Callable, Iterable
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

Entry = tuple[str, str, str]
BINARY_KINDS = frozenset({"BINARY", "EXTENSION"})


def split(toc: Iterable[Entry], patterns: Iterable[str]) -> tuple[list[Entry], list[Entry]]:
    """(kept, left out): an entry is left out when its destination (with ``/`` separators)
    matches one of the shell-style ``patterns``."""
    patterns = list(patterns)
    kept: list[Entry] = []
    left_out: list[Entry] = []
    for entry in toc:
        dest = PurePosixPath(*Path(entry[0]).parts).as_posix()
        (left_out if any(fnmatch(dest, p) for p in patterns) else kept).append(entry)
    return kept, left_out


def ldd_dependencies(path: str) -> set[str]:
    """File names of the shared libraries ``path`` loads, all the way down (ldd's answer
    on Linux, through PyInstaller's own dependency reader)."""
    from PyInstaller.depend.bindepend import get_imports

    return {Path(name).name for name, _ in get_imports(path)}


def orphans(
    kept: Iterable[Entry],
    left_out: Iterable[Entry],
    dependencies: Callable[[str], set[str]] = ldd_dependencies,
) -> set[str]:
    """File names of the kept libraries that left-out binaries load and nothing else kept
    loads. ``dependencies`` lists what a binary loads all the way down (as ldd does), so
    libraries that only such orphans load are orphans too."""

    def needed(entries: Iterable[Entry]) -> set[str]:
        names: set[str] = set()
        for _, src, kind in entries:
            if kind in BINARY_KINDS:
                names |= dependencies(src)
        return names

    kept = list(kept)
    candidates = needed(left_out) & {Path(dest).name for dest, _, _ in kept}
    others = [e for e in kept if Path(e[0]).name not in candidates]
    return candidates - needed(others)


def without_orphans(
    kept: list[Entry],
    left_out: list[Entry],
    dependencies: Callable[[str], set[str]] = ldd_dependencies,
) -> tuple[list[Entry], list[Entry]]:
    """(kept, also left out): ``kept`` less the libraries only ``left_out`` needed."""
    lonely = orphans(kept, left_out, dependencies)
    still = [e for e in kept if not (e[2] == "BINARY" and Path(e[0]).name in lonely)]
    gone = [e for e in kept if e[2] == "BINARY" and Path(e[0]).name in lonely]
    return still, gone


def _load_segments(path: Path, readelf: str) -> list[str]:
    """The program header's LOAD lines: what the dynamic loader maps."""
    done = subprocess.run([readelf, "-lW", str(path)], capture_output=True, text=True, check=True)
    return [line.split() for line in done.stdout.splitlines() if line.strip().startswith("LOAD")]


def _has_debug_info(path: str, readelf: str) -> bool:
    done = subprocess.run([readelf, "-SW", path], capture_output=True, text=True, check=False)
    return ".debug_info" in done.stdout


def strip_debug_info(toc: Iterable[Entry], folder: Path) -> tuple[list[Entry], int]:
    """(toc, bytes saved): binaries that carry DWARF debug sections (a self-built Python's
    libpython is 23 MB, 17 of them debug info) replaced by copies in ``folder`` made with
    ``strip --strip-debug``: symbols stay, so crash reports still name functions.

    A copy is used only when its LOAD segments are exactly the original's: ``strip`` on a
    library rewritten by patchelf (numpy's OpenBLAS, say) can misalign them, and the loader
    then refuses the file. Without binutils the table is returned unchanged."""
    strip, readelf = shutil.which("strip"), shutil.which("readelf")
    result: list[Entry] = []
    saved = 0
    for dest, src, kind in toc:
        if strip and readelf and kind in BINARY_KINDS and _has_debug_info(src, readelf):
            copy = folder / dest
            copy.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([strip, "--strip-debug", "-o", str(copy), src], check=True)
            if _load_segments(copy, readelf) == _load_segments(Path(src), readelf):
                saved += Path(src).stat().st_size - copy.stat().st_size
                src = str(copy)
        result.append((dest, src, kind))
    return result, saved


def unused_twilio_domains(used: Iterable[str]) -> list[str]:
    """``twilio.rest.<domain>`` packages other than ``used``, found without importing them.

    The twilio client imports a domain only when its attribute is first read
    (``client.api``, ``client.messaging``); PyInstaller sees every one of those imports
    and would bundle all ~40 domains."""
    spec = importlib.util.find_spec("twilio.rest")
    if spec is None or not spec.submodule_search_locations:
        return []
    used = set(used)
    folders = [Path(p) for p in spec.submodule_search_locations]
    return sorted(
        f"twilio.rest.{d.name}"
        for folder in folders
        for d in folder.iterdir()
        if (d / "__init__.py").is_file() and d.name not in used
    )
