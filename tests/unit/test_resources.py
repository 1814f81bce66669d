"""Resources resolve from the source tree, an override folder and a PyInstaller bundle."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

from trustpager_desktop import resources
from trustpager_desktop.resources import (
    APP_ICON_SIZES,
    ResourceNotFound,
    app_icon_files,
    resource_path,
    resources_root,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_override(monkeypatch):
    monkeypatch.delenv(resources.RESOURCES_ENV, raising=False)
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_from_source_the_resources_folder_next_to_the_package_is_used():
    assert resources_root() == REPO / "resources"
    assert resource_path("icons/trustpager.svg") == REPO / "resources" / "icons" / "trustpager.svg"


def test_every_icon_size_exists_with_its_pixel_size():
    files = app_icon_files()
    assert files[-1].name == "trustpager.svg"
    pngs = files[:-1]
    assert [png_size(p) for p in pngs] == [(s, s) for s in APP_ICON_SIZES]


def test_frozen_bundle_resources_come_from_meipass(tmp_path, monkeypatch):
    (tmp_path / "resources" / "icons").mkdir(parents=True)
    (tmp_path / "resources" / "icons" / "trustpager.svg").write_text("<svg/>")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert (
        resource_path("icons/trustpager.svg")
        == (tmp_path / "resources" / "icons" / "trustpager.svg").resolve()
    )
    # Only what the bundle holds is found: no silent fallback to the source tree.
    assert [p.name for p in app_icon_files()] == ["trustpager.svg"]


def test_environment_override_wins(tmp_path, monkeypatch):
    (tmp_path / "x.txt").write_text("x")
    monkeypatch.setenv(resources.RESOURCES_ENV, str(tmp_path))
    assert resource_path("x.txt") == (tmp_path / "x.txt").resolve()


def test_missing_resource_names_the_folder_searched():
    with pytest.raises(ResourceNotFound, match="nope.png.*resources"):
        resource_path("icons/nope.png")


def test_paths_outside_the_resources_folder_are_refused():
    with pytest.raises(ValueError, match="outside"):
        resource_path("../pyproject.toml")


def test_app_icon_loads_into_qt(qapp):
    from trustpager_desktop.ui.icons import app_icon

    icon = app_icon()
    assert not icon.isNull()
    assert icon.pixmap(48, 48).width() == 48
