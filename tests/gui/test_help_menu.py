"""Help → Open log folder and About."""

from __future__ import annotations

from types import SimpleNamespace

from PySide6.QtWidgets import QMainWindow

from trustpager_desktop import __version__
from trustpager_desktop.ui.help_menu import about_box, about_text, install_help_menu
from trustpager_desktop.usecases.settings import SettingsService


def test_open_log_folder_opens_the_log_folder(qtbot, services, tmp_path):
    window = QMainWindow()
    qtbot.addWidget(window)
    opened = []
    open_logs, about = install_help_menu(
        window,
        SettingsService(services),
        log_dir=tmp_path / "logs",
        opener=lambda url: opened.append(url),
    )
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&Help"]
    open_logs.trigger()
    assert [u.toLocalFile() for u in opened] == [str(tmp_path / "logs")]
    assert (tmp_path / "logs").is_dir()  # created, so the file manager has something to show
    assert about.text() == "About TrustPager Desktop"


def test_help_menu_is_reused_when_the_window_has_one(qtbot, services):
    window = QMainWindow()
    qtbot.addWidget(window)
    existing = window.menuBar().addMenu("&Help")
    existing.addAction("Keyboard shortcuts")
    install_help_menu(window, SettingsService(services), opener=lambda url: True)
    assert len(window.menuBar().actions()) == 1
    assert [a.text() for a in existing.actions() if not a.isSeparator()] == [
        "Keyboard shortcuts",
        "Open log folder",
        "About TrustPager Desktop",
    ]


def test_about_shows_version_database_and_provider(services, tmp_path):
    text = about_text(SettingsService(services), log_dir=tmp_path)
    assert f"TrustPager Desktop {__version__}" in text
    assert f"Database: {services.db.sqlite_path}" in text
    assert "Sending: Sandbox: no texts leave this computer" in text
    assert f"Log folder: {tmp_path}" in text


def test_about_hides_the_database_password():
    services = SimpleNamespace(
        db=SimpleNamespace(
            url="postgresql://owner:S3cret-pw@db.office/trustpager", sqlite_path=None
        ),
        provider_choice=SimpleNamespace(description="Twilio +1 415-555-0100"),
    )
    text = about_text(SettingsService(services))
    assert "S3cret-pw" not in text
    assert "postgresql://owner:***@db.office/trustpager" in text


def test_about_box_is_plain_text(qtbot, services):
    box = about_box(SettingsService(services))
    qtbot.addWidget(box)
    assert box.textFormat().name == "PlainText"
    assert box.text() == about_text(SettingsService(services))
