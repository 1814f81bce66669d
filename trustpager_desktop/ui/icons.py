"""Qt side of resources: the application icon as a QIcon."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from trustpager_desktop.resources import app_icon_files


def app_icon() -> QIcon:
    """The TrustPager icon in every size shipped (an empty QIcon if the files are missing)."""
    icon = QIcon()
    for path in app_icon_files():
        icon.addFile(str(path))
    return icon
