"""Render resources/icons/trustpager.svg to the PNG sizes desktops and installers need.

Run after changing the SVG (the PNGs are committed):
    QT_QPA_PLATFORM=offscreen python packaging/render_icons.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZES = (16, 32, 48, 64, 128, 256, 512)


def render(svg: Path, size: int, target: Path) -> None:
    """Draw ``svg`` into a transparent ``size``×``size`` PNG at ``target``; raises on failure."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(target)):
        raise OSError(f"could not write {target}")


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - keeps Qt up
    svg = ICONS / "trustpager.svg"
    for size in SIZES:
        target = ICONS / f"trustpager-{size}.png"
        render(svg, size, target)
        print(target)
    # Windows (.ico) and macOS (.icns) icons for PyInstaller; Qt writes one size each,
    # and both systems scale it down well.
    for size, suffix in ((256, "ico"), (512, "icns")):
        target = ICONS / f"trustpager.{suffix}"
        render(svg, size, target)
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
