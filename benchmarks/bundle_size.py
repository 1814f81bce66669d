"""Size of the built one-folder bundle, and its biggest parts.

    python benchmarks/bundle_size.py [dist/trustpager-desktop] [--top 25]

Build it first with ``make package`` (minutes; this script does not build). Prints the
disk usage as ``du -sh`` counts it (allocated blocks, each file once: the bundle holds
symbolic links) and the sum of the file sizes, then the biggest files and folders of
``_internal``. Exits 0 without a bundle, saying how to build one.

Target (issue 18): smaller than 251 MB.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

TARGET_MB = 251
MB = 1024 * 1024  # du -h's M


def file_sizes(folder: Path) -> dict[Path, tuple[int, int]]:
    """Every regular file below ``folder`` (symbolic links not followed or counted):
    its path and (bytes, bytes allocated on disk)."""
    sizes: dict[Path, tuple[int, int]] = {}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            if not path.is_symlink():
                info = path.stat()
                sizes[path] = (info.st_size, info.st_blocks * 512)
    return sizes


def folder_blocks(folder: Path) -> int:
    """Bytes the folders themselves take on disk (du counts them too)."""
    return sum(Path(root).stat().st_blocks * 512 for root, _dirs, _files in os.walk(folder))


def biggest_folders(sizes: dict[Path, tuple[int, int]], base: Path, depth: int) -> Counter:
    """Bytes per folder ``depth`` levels below ``base`` (files above that depth count as
    themselves)."""
    totals: Counter = Counter()
    for path, (size, _) in sizes.items():
        parts = path.relative_to(base).parts
        totals[Path(*parts[: min(depth, len(parts))]).as_posix()] += size
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", nargs="?", default="dist/trustpager-desktop")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    bundle = Path(args.bundle)
    if not (bundle / "_internal").is_dir():
        print(f"no bundle at {bundle}: build it with `make package`, then run this again")
        return 0
    sizes = file_sizes(bundle)
    on_disk = sum(blocks for _, blocks in sizes.values()) + folder_blocks(bundle)
    total = sum(size for size, _ in sizes.values())
    verdict = "MET" if on_disk / MB < TARGET_MB else "MISSED"
    print(f"bundle {bundle}: {on_disk / MB:.0f} MB on disk (du -sh); files {total:,} bytes")
    print(f"{len(sizes)} files; target < {TARGET_MB} MB: {verdict}")
    internal = bundle / "_internal"
    for depth, title in ((1, "top-level parts of _internal"), (9, "biggest files")):
        print(f"\n{title}:")
        inside = {p: s for p, s in sizes.items() if internal in p.parents}
        for name, size in biggest_folders(inside, internal, depth).most_common(args.top):
            print(f"  {size / MB:7.1f} MB  {name}")
    programs = {p: s for p, s in sizes.items() if p.parent == bundle}
    for path, (size, _) in sorted(programs.items()):
        print(f"program {path.name}: {size / MB:.1f} MB (its archive of Python modules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
