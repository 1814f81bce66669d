"""Finding resource files (icons, desktop metadata) from source, an editable install or a bundle.

Resources live in the top-level ``resources/`` folder of the source tree (next to the
package, as DESIGN.md lays out). Where that folder is looked for:

1. ``TRUSTPAGER_RESOURCES`` (a folder), for unusual installs and tests;
2. a PyInstaller bundle: ``<sys._MEIPASS>/resources`` (the spec copies the folder there);
3. the source tree or an editable install (``pip install -e .``):
   ``<folder holding trustpager_desktop>/resources``.

A plain (non-editable) wheel does not carry the folder; the application then runs
without its icon rather than failing. Qt-free: ``ui.icons`` turns paths into QIcons.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

RESOURCES_ENV = "TRUSTPAGER_RESOURCES"
APP_ICON_SVG = "icons/trustpager.svg"
APP_ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


class ResourceNotFound(FileNotFoundError):
    """A resource file is missing from every place resources are looked for."""


def resources_root() -> Path:
    """The folder resources are read from (it may not exist in a plain wheel install)."""
    override = os.environ.get(RESOURCES_ENV)
    if override:
        return Path(override)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:  # frozen by PyInstaller: data files sit under the unpacked bundle folder
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(relative: str) -> Path:
    """The absolute path of ``relative`` (e.g. ``"icons/trustpager.svg"``).

    Raises ResourceNotFound naming the folder searched when the file is missing,
    and ValueError when ``relative`` tries to leave the resources folder.
    """
    root = resources_root().resolve()
    path = (root / relative).resolve()
    if root != path and root not in path.parents:
        raise ValueError(f"'{relative}' is outside the resources folder")
    if not path.is_file():
        raise ResourceNotFound(f"resource '{relative}' not found in {root}")
    return path


def app_icon_files() -> list[Path]:
    """The application icon files that exist: the PNG sizes, then the SVG. May be empty."""
    names = [f"icons/trustpager-{size}.png" for size in APP_ICON_SIZES] + [APP_ICON_SVG]
    found = []
    for name in names:
        try:
            found.append(resource_path(name))
        except ResourceNotFound:
            continue
    return found
