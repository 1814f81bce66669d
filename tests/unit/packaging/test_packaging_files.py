"""Packaging files: the spec parses and points at files that exist; Linux metadata is valid."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PACKAGING = REPO / "packaging"
LINUX = REPO / "resources" / "linux"
APP_ID = "org.trustpager.TrustPagerDesktop"


def spec_tree() -> ast.Module:
    return ast.parse((PACKAGING / "trustpager.spec").read_text(), filename="trustpager.spec")


def string_constants(tree: ast.AST) -> set[str]:
    return {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def test_spec_parses_and_builds_both_programs():
    strings = string_constants(spec_tree())
    assert {"trustpager-desktop", "trustpager"} <= strings


def test_spec_references_files_that_exist():
    strings = string_constants(spec_tree())
    for script in ("entry_gui.py", "entry_cli.py", "entry_linux.py"):
        assert script in strings
        assert (PACKAGING / script).is_file()
    for icon in ("trustpager.ico", "trustpager.icns"):
        assert icon in strings
        assert (REPO / "resources" / "icons" / icon).is_file()
    # The app migrates at start: the migrations folder must be bundled where migrate.py looks.
    assert {"store", "migrations", "trustpager_desktop/store/migrations"} <= strings
    assert (REPO / "trustpager_desktop" / "store" / "migrations" / "env.py").is_file()
    assert "resources" in strings


def test_the_spec_trims_through_bundle_trim():
    spec = (PACKAGING / "trustpager.spec").read_text()
    assert "from bundle_trim import" in spec and (PACKAGING / "bundle_trim.py").is_file()


def test_entry_scripts_call_the_installed_entry_points():
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'trustpager = "trustpager_desktop.cli:main"' in pyproject
    assert 'trustpager-desktop = "trustpager_desktop.app:main"' in pyproject
    assert "from trustpager_desktop.cli import main" in (PACKAGING / "entry_cli.py").read_text()
    assert "from trustpager_desktop.app import main" in (PACKAGING / "entry_gui.py").read_text()
    linux = (PACKAGING / "entry_linux.py").read_text()
    assert "from trustpager_desktop.cli import main" in linux
    assert "from trustpager_desktop.app import main" in linux


def test_desktop_file_has_the_required_keys():
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(LINUX / f"{APP_ID}.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == "TrustPager Desktop"
    assert entry["Exec"].split()[0] == "trustpager-desktop"
    assert entry["Icon"] == APP_ID
    assert entry["Categories"].endswith(";")


def test_metainfo_is_well_formed_and_launches_the_desktop_file():
    root = ET.parse(LINUX / f"{APP_ID}.metainfo.xml").getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == f"{APP_ID}.desktop"
    assert (LINUX / root.find("launchable").text).is_file()
    assert root.findtext("name") == "TrustPager Desktop"


def test_inno_setup_script_installs_the_bundle_folder():
    iss = (PACKAGING / "windows" / "trustpager.iss").read_text()
    assert r"dist\trustpager-desktop\*" in iss
    assert "trustpager-desktop.exe" in iss


def test_the_linux_build_stops_when_qts_x11_libraries_are_missing():
    spec = (PACKAGING / "trustpager.spec").read_text()
    assert "unresolved_libraries(xcb_binaries(_qt))" in spec and "raise SystemExit" in spec


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux's")
def test_the_bundle_check_names_what_the_x11_plugin_cannot_find(tmp_path):
    """A bundle whose X11 plugin lacks Qt's own libraries beside it fails the check, naming
    them (a good bundle carries them in _internal/)."""
    from trustpager_desktop.platform_check import qt_folder

    check_bundle = _load_check_bundle()
    platforms = tmp_path / "_internal" / "PySide6" / "Qt" / "plugins" / "platforms"
    platforms.mkdir(parents=True)
    shutil.copy(qt_folder() / "plugins" / "platforms" / "libqxcb.so", platforms)
    with pytest.raises(SystemExit, match=r"libQt6XcbQpa\.so\.6"):
        check_bundle.check_x11_libraries(tmp_path)
    empty = tmp_path / "empty"
    (empty / "_internal").mkdir(parents=True)
    with pytest.raises(SystemExit, match="libqxcb.so"):
        check_bundle.check_x11_libraries(empty)


def _load_check_bundle():
    spec = importlib.util.spec_from_file_location("check_bundle", PACKAGING / "check_bundle.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
