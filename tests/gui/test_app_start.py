"""Starting the application: --screenshot renders the real window and leaves the process sound."""

import gc

import pytest
from PySide6.QtGui import QColor, QImage

from trustpager_desktop.app import main
from trustpager_desktop.logging_setup import shutdown_logging


@pytest.fixture(autouse=True)
def _own_log_folder(tmp_path, monkeypatch):
    """The app sets up file logging: keep it in tmp and take it down afterwards."""
    monkeypatch.setenv("TRUSTPAGER_LOG_DIR", str(tmp_path / "logs"))
    yield
    shutdown_logging()


def test_screenshot_start_renders_the_window_and_resumes_garbage_collection(tmp_path, qapp):
    png = tmp_path / "window.png"
    code = main(
        ["--db", f"sqlite:///{tmp_path / 'app.db'}", "--screenshot", str(png), "--size", "1280x800"]
    )
    assert code == 0
    image = QImage(str(png))
    assert (image.width(), image.height()) == (1280, 800)
    assert gc.isenabled()  # start-up pauses collection; it must come back on


def test_unknown_screen_is_refused_with_exit_2_and_gc_back_on(tmp_path, qapp, capsys):
    code = main(
        [
            "--db",
            f"sqlite:///{tmp_path / 'app.db'}",
            "--screenshot",
            str(tmp_path / "x.png"),
            "--show",
            "nowhere",
        ]
    )
    assert code == 2
    assert "unknown screen 'nowhere'" in capsys.readouterr().err
    assert gc.isenabled()


def test_missing_x11_libraries_are_named_before_qt_starts(tmp_path, monkeypatch, capsys):
    from trustpager_desktop import platform_check

    monkeypatch.setattr(
        platform_check,
        "missing_platform_libraries",
        lambda env=None: ["libxcb-cursor.so.0", "libxcb-icccm.so.4"],
    )
    code = main(["--db", f"sqlite:///{tmp_path / 'app.db'}"])
    assert code == 3
    err = capsys.readouterr().err
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4" in err
    assert gc.isenabled()


def test_a_dark_palette_screenshot_is_dark(tmp_path, qapp):
    from PySide6.QtGui import QPalette

    saved_palette, saved_style = QPalette(qapp.palette()), qapp.style().name()
    png = tmp_path / "dark.png"
    try:
        code = main(
            [
                "--db",
                f"sqlite:///{tmp_path / 'app.db'}",
                "--screenshot",
                str(png),
                "--size",
                "1024x700",
                "--palette",
                "dark",
            ]  # fmt: skip
        )
    finally:
        qapp.setStyle(saved_style)
        qapp.setPalette(saved_palette)
    assert code == 0
    image = QImage(str(png))
    assert (image.width(), image.height()) == (1024, 700)
    assert image.pixelColor(600, 400).lightnessF() < 0.3  # the page background


def test_screenshot_of_insights_pictures_the_charts_once_loaded(tmp_path, qapp):
    """--show insights waits for the figures (read off the GUI thread) and the charts."""
    from datetime import timedelta

    from tests.support.history import History
    from trustpager_desktop.core.clock import SYSTEM_CLOCK, FixedClock
    from trustpager_desktop.store.database import Database
    from trustpager_desktop.ui.insights_page import SENT_COLOUR

    url = f"sqlite:///{tmp_path / 'app.db'}"
    db = Database.open(url)
    history = History(db, FixedClock(SYSTEM_CLOCK.now() - timedelta(days=3)))
    reminder = history.automation("Reminder", "See you tomorrow")
    for i in range(5):
        history.text(reminder, 1, history.contact(f"P{i}", f"+1415555010{i}"))
    db.close()
    png = tmp_path / "insights.png"
    assert main(["--db", url, "--screenshot", str(png), "--show", "insights"]) == 0
    image = QImage(str(png))
    bar = QColor(SENT_COLOUR).rgb()
    blue = sum(
        1 for x in range(0, image.width(), 4) for y in range(0, image.height(), 4)
        if image.pixel(x, y) == bar
    )  # fmt: skip
    assert blue > 50  # the "Texts sent per week" bars are in the picture
