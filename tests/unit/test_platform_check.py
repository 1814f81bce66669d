"""Before Qt starts: which X11 libraries are missing, and what to install."""

from __future__ import annotations

import stat
import sys

import pytest

from trustpager_desktop import platform_check
from trustpager_desktop.platform_check import (
    install_hint,
    missing_platform_libraries,
    qt_folder,
    unresolved_libraries,
    uses_xcb,
    xcb_binaries,
)

LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffc)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f)
"""


@pytest.fixture
def fake_ldd(tmp_path):
    script = tmp_path / "ldd"
    script.write_text(f"#!/bin/sh\ncat <<'OUT'\n{LDD_OUTPUT}OUT\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


@pytest.mark.parametrize(
    ("env", "xcb"),
    [
        ({"DISPLAY": ":0"}, True),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, False),  # Qt picks Wayland
        ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}, False),
        ({"QT_QPA_PLATFORM": "xcb"}, True),
        ({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}, False),
        ({}, False),  # no display at all: nothing to check
    ],
)
def test_only_an_x11_start_is_checked(env, xcb):
    assert uses_xcb(env) is xcb


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ldd is Linux's")
def test_libraries_ldd_cannot_find_are_listed_once(fake_ldd, tmp_path):
    binaries = [tmp_path / "libqxcb.so", tmp_path / "libQt6XcbQpa.so.6"]
    assert unresolved_libraries(binaries, fake_ldd) == ["libxcb-cursor.so.0", "libxcb-icccm.so.4"]


def test_the_hint_names_the_debian_packages():
    hint = install_hint(["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libweird.so.9"])
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4" in hint
    assert "apt-file search" in hint and "libweird.so.9" in hint


def test_a_wayland_or_offscreen_start_needs_no_check(monkeypatch):
    monkeypatch.setattr(platform_check, "unresolved_libraries", lambda *_a: ["x"])
    assert missing_platform_libraries({"QT_QPA_PLATFORM": "offscreen"}) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux's")
def test_the_plugin_and_qts_xcb_library_are_found_in_this_pyside6():
    folder = qt_folder()
    assert folder is not None
    names = [path.name for path in xcb_binaries(folder)]
    assert names[0] == "libqxcb.so" and names[1].startswith("libQt6XcbQpa.so")
