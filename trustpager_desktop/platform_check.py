"""Before Qt starts on Linux: are the system libraries its X11 (xcb) plugin needs there?

Since Qt 6.5 the xcb platform plugin needs libxcb-cursor0, and a stock Debian or Ubuntu
desktop may also lack libxcb-icccm4, libxcb-keysyms1 and a few more. Without them Qt
prints "Could not load the Qt platform plugin" and aborts the process, which tells an
office user nothing. ``missing_platform_libraries`` asks ``ldd`` about the plugin (and
Qt's xcb library) first; ``install_hint`` names the Debian/Ubuntu packages to install.

Qt-free on purpose: it must run before any Qt library is loaded. The packaging spec
uses it too, so a bundle is never built on a machine that lacks these libraries.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# Shared library -> the Debian/Ubuntu package that provides it (Debian 12, Ubuntu 22.04+).
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
}
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def qt_folder() -> Path | None:
    """PySide6's Qt folder (plugins/, lib/), found without loading Qt; None if absent."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "Qt"


def xcb_binaries(qt: Path) -> list[Path]:
    """The files whose dependencies decide whether the xcb plugin loads."""
    candidates = [
        qt / "plugins" / "platforms" / "libqxcb.so",
        *sorted((qt / "lib").glob("libQt6XcbQpa.so*")),
    ]
    return [path for path in candidates if path.is_file()][:2]


def uses_xcb(env: Mapping[str, str]) -> bool:
    """True when Qt will try the xcb (X11) platform: asked for, or an X display without
    a Wayland session (where Qt picks its Wayland plugin instead)."""
    asked = env.get("QT_QPA_PLATFORM", "")
    if asked:
        return asked.split(":")[0].split(";")[0] == "xcb"
    wayland = env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland"
    return bool(env.get("DISPLAY")) and not wayland


def unresolved_libraries(
    binaries: list[Path], ldd: str = "ldd", env: Mapping[str, str] | None = None
) -> list[str]:
    """Shared libraries ``ldd`` reports as 'not found' for ``binaries``, each once, sorted.
    ``env``: the environment ldd runs in (e.g. with a bundle's LD_LIBRARY_PATH)."""
    missing: set[str] = set()
    for binary in binaries:
        try:
            done = subprocess.run(
                [ldd, str(binary)],
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
                env=dict(env) if env is not None else None,
            )
        except (OSError, subprocess.SubprocessError):
            return []  # cannot tell: let Qt try
        missing.update(_NOT_FOUND.findall(done.stdout))
    return sorted(missing)


def missing_platform_libraries(env: Mapping[str, str] | None = None) -> list[str]:
    """The libraries the xcb plugin cannot find on this computer ([] when all are there,
    when Qt will not use xcb, or when it cannot be checked: not Linux, no ldd)."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux") or not uses_xcb(env):
        return []
    ldd = shutil.which("ldd")
    qt = qt_folder()
    if ldd is None or qt is None:
        return []
    # ldd lists the plugin's whole dependency tree (Qt's xcb library's too): one call, ~10 ms.
    return unresolved_libraries(xcb_binaries(qt)[:1], ldd)


def install_hint(libraries: list[str]) -> str:
    """What to tell the person: which libraries, and the apt command that installs them."""
    packages = sorted({DEBIAN_PACKAGES.get(lib, "") for lib in libraries} - {""})
    unknown = [lib for lib in libraries if lib not in DEBIAN_PACKAGES]
    lines = [
        "TrustPager cannot open its window: Qt's X11 support needs system libraries "
        "that are not installed:",
        "  " + ", ".join(libraries),
    ]
    if packages:
        lines += [
            "On Debian or Ubuntu install them with:",
            "  sudo apt install " + " ".join(packages),
        ]
    if unknown:
        lines.append("Find the package for " + ", ".join(unknown) + " with: apt-file search <name>")
    lines.append("Then start TrustPager again. (The command line, trustpager, works without them.)")
    return "\n".join(lines)
