"""Colours that stay readable: status tones derived from the palette in use, light or dark.

A fixed green or orange that reads well on white measures under 3:1 on a dark card.
Instead each tone has a hue, and its lightness is moved away from the backgrounds of
the current palette (Window, Base, AlternateBase) until the WCAG contrast ratio is at
least 4.5:1 against all of them. The grey hint text (PlaceholderText) gets the same
treatment. ``--palette dark`` / ``light`` force a palette (screenshots, desktops that
do not pass their colour scheme to Qt); the default follows the system.
"""

from __future__ import annotations

import enum

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

MIN_CONTRAST = 4.5  # WCAG 2 AA for normal text
TONE_PROPERTY = "trustpagerTone"
PALETTE_CHOICES = ("system", "light", "dark")

Role = QPalette.ColorRole
BACKGROUND_ROLES = (Role.Window, Role.Base, Role.AlternateBase)


class Tone(enum.Enum):
    """What a coloured text means; the hue is fixed, the lightness fits the palette."""

    NORMAL = "normal"  # the palette's own text colour
    OK = "#15803d"  # green
    WARNING = "#c2410c"  # deep orange
    ERROR = "#b91c1c"  # red


# Black on amber: 9.6:1, whatever the palette (the label draws its own background).
SANDBOX_BACKGROUND = QColor("#f59e0b")
SANDBOX_TEXT = QColor("black")


def relative_luminance(colour: QColor) -> float:
    """WCAG 2 relative luminance of an opaque colour (0 black .. 1 white)."""

    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(colour.redF())
        + 0.7152 * channel(colour.greenF())
        + 0.0722 * channel(colour.blueF())
    )


def over(colour: QColor, ground: QColor) -> QColor:
    """``colour`` as seen drawn on ``ground``: a half-transparent grey hint is a lighter grey."""
    alpha = colour.alphaF()
    if alpha >= 1.0:
        return QColor(colour)
    mixed = QColor()
    mixed.setRgbF(
        colour.redF() * alpha + ground.redF() * (1 - alpha),
        colour.greenF() * alpha + ground.greenF() * (1 - alpha),
        colour.blueF() * alpha + ground.blueF() * (1 - alpha),
    )
    return mixed


def contrast_ratio(text: QColor, ground: QColor) -> float:
    """WCAG 2 contrast ratio of ``text`` drawn on ``ground`` (an opaque colour), 1.0 (none)
    .. 21.0 (black on white). A translucent text colour counts as it is seen."""
    seen = over(text, ground)
    a, b = sorted((relative_luminance(seen), relative_luminance(ground)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def is_dark(palette: QPalette) -> bool:
    return palette.color(Role.Base).lightnessF() < 0.5


def backgrounds(palette: QPalette) -> list[QColor]:
    return [palette.color(role) for role in BACKGROUND_ROLES]


def readable(colour: QColor, palette: QPalette, minimum: float = MIN_CONTRAST) -> QColor:
    """``colour`` with its lightness moved (darker on a light palette, lighter on a dark
    one) until it reaches ``minimum`` contrast against every background of ``palette``.
    Returns the colour unchanged when it already does; at worst black or white."""
    grounds = backgrounds(palette)
    colour = over(colour, palette.color(Role.Base))  # a translucent hint: as it is seen
    hue, saturation, lightness, _alpha = colour.getHslF()
    step = 0.02 if is_dark(palette) else -0.02
    candidate = QColor(colour)
    for _ in range(60):
        if min(contrast_ratio(candidate, g) for g in grounds) >= minimum:
            return candidate
        lightness = min(1.0, max(0.0, lightness + step))
        candidate = QColor.fromHslF(max(hue, 0.0), saturation, lightness)
    return QColor("white") if is_dark(palette) else QColor("black")


def tone_colour(tone: Tone, palette: QPalette | None = None) -> QColor:
    """The colour for ``tone`` on ``palette`` (default: the application's)."""
    palette = palette or QGuiApplication.palette()
    if tone is Tone.NORMAL:
        return palette.color(Role.WindowText)
    return readable(QColor(tone.value), palette)


def set_tone(widget: QWidget, tone: Tone) -> None:
    """Draw ``widget``'s text in ``tone``; remembered, so a palette change re-applies it."""
    widget.setProperty(TONE_PROPERTY, tone.name)
    _apply_tone(widget, tone)


def _apply_tone(widget: QWidget, tone: Tone) -> None:
    palette = widget.palette()
    if tone is Tone.NORMAL:
        base = QApplication.palette(widget)
        colour, text = base.color(Role.WindowText), base.color(Role.Text)
    else:
        colour = text = tone_colour(tone, QApplication.palette(widget))
    # In a card the label draws with Text (its parent's background is Base), elsewhere with
    # WindowText: set both so the tone shows wherever the widget sits.
    palette.setColor(Role.WindowText, colour)
    palette.setColor(Role.Text, text)
    widget.setPalette(palette)


def tone_of(widget: QWidget) -> Tone | None:
    name = widget.property(TONE_PROPERTY)
    return Tone[name] if isinstance(name, str) and name in Tone.__members__ else None


def with_readable_hints(palette: QPalette) -> QPalette:
    """A copy of ``palette`` whose PlaceholderText (grey hints, message times) reaches
    4.5:1 on every background; the Disabled group is left alone (disabled text may be dim)."""
    fixed = QPalette(palette)
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        hint = fixed.color(group, Role.PlaceholderText)
        fixed.setColor(group, Role.PlaceholderText, readable(hint, fixed))
    return fixed


def light_palette() -> QPalette:
    """Fusion's standard light palette."""
    from PySide6.QtWidgets import QStyleFactory

    style = QStyleFactory.create("Fusion")
    return style.standardPalette() if style else QPalette()


def dark_palette() -> QPalette:
    """A dark palette for the Fusion style (near the GNOME/KDE dark themes)."""
    palette = QPalette()
    colours = {
        Role.Window: "#353535",
        Role.WindowText: "#e8e8e8",
        Role.Base: "#1e1e1e",  # fields and tables: the darkest
        Role.AlternateBase: "#2a2a2a",  # cards and every other table row
        Role.ToolTipBase: "#3a3a3a",
        Role.ToolTipText: "#f0f0f0",
        Role.Text: "#e8e8e8",
        Role.Button: "#454545",
        Role.ButtonText: "#e8e8e8",
        Role.BrightText: "#ffffff",
        Role.Light: "#5a5a5a",
        Role.Midlight: "#4a4a4a",
        Role.Mid: "#5c5c5c",
        Role.Dark: "#121212",
        Role.Shadow: "#000000",
        Role.Highlight: "#2f6fb5",
        Role.HighlightedText: "#ffffff",
        Role.Link: "#8ab4f8",
        Role.LinkVisited: "#c58af9",
        Role.PlaceholderText: "#9a9a9a",
    }
    for role, value in colours.items():
        palette.setColor(role, QColor(value))
    for role in (Role.WindowText, Role.Text, Role.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7f7f7f"))
    return palette


def apply_palette(app: QApplication, choice: str = "system") -> None:
    """Use the ``choice`` palette ("system", "light" or "dark") with readable hints, and
    keep toned widgets readable when the palette changes later (a desktop switching to
    dark mode). Raises ValueError for an unknown choice."""
    if choice not in PALETTE_CHOICES:
        raise ValueError(f"unknown palette '{choice}'; choose one of: {', '.join(PALETTE_CHOICES)}")
    if choice != "system":
        app.setStyle("Fusion")  # the native styles ignore a custom palette in places
        app.setPalette(light_palette() if choice == "light" else dark_palette())
    app.setPalette(with_readable_hints(app.palette()))
    watcher = getattr(app, "_trustpager_palette_watcher", None)
    if watcher is None:
        watcher = _PaletteWatcher(app)
        app.installEventFilter(watcher)
        app._trustpager_palette_watcher = watcher  # type: ignore[attr-defined]


class _PaletteWatcher(QObject):
    """Re-applies tones and readable hints after the application palette changes."""

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._app = app
        self._busy = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if (
            watched is self._app
            and event.type() == QEvent.Type.ApplicationPaletteChange
            and not self._busy
        ):
            self._busy = True
            try:
                self._app.setPalette(with_readable_hints(self._app.palette()))
                retone_all()
            finally:
                self._busy = False
        return False


def retone_all() -> None:
    """Recompute every toned widget's colour for the current palette."""
    for widget in QApplication.allWidgets():
        tone = tone_of(widget)
        if tone is not None:
            _apply_tone(widget, tone)
