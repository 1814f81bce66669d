"""What the bundle leaves out: each exclusion in the spec still names something installed,
carries its reason, and the application runs without it; the trimming mechanics work."""

from __future__ import annotations

import ast
import ctypes
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from fnmatch import fnmatch
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PACKAGING = REPO / "packaging"
LINUX = sys.platform.startswith("linux")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, PACKAGING / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bundle_trim = _load("bundle_trim")


def spec_table(name: str) -> dict[str, str]:
    """A ``NAME = {...}`` table of the spec, read without running PyInstaller."""
    tree = ast.parse((PACKAGING / "trustpager.spec").read_text(), filename="trustpager.spec")
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"the spec has no {name} table")


def left_out_modules() -> list[str]:
    used = spec_table("TWILIO_DOMAINS_USED")
    return [*spec_table("LEFT_OUT_MODULES"), *bundle_trim.unused_twilio_domains(used)]


# -- the tables are true ------------------------------------------------------------------


@pytest.mark.parametrize("table", ["LEFT_OUT_MODULES", "TWILIO_DOMAINS_USED", "LEFT_OUT_FILES"])
def test_every_exclusion_says_why(table):
    entries = spec_table(table)
    assert entries
    for what, why in entries.items():
        assert isinstance(why, str) and len(why) >= 10, f"{table}[{what!r}] needs its reason"


@pytest.mark.parametrize("module", sorted(spec_table("LEFT_OUT_MODULES")))
def test_each_left_out_module_is_installed(module):
    """A name that no longer exists (renamed upstream) would silently exclude nothing."""
    assert importlib.util.find_spec(module) is not None, f"{module} is not installed"


def test_the_twilio_domains_used_exist_and_the_rest_are_left_out():
    used = spec_table("TWILIO_DOMAINS_USED")
    for domain in used:
        assert importlib.util.find_spec(f"twilio.rest.{domain}") is not None
    unused = bundle_trim.unused_twilio_domains(used)
    assert "twilio.rest.conversations" in unused and "twilio.rest.verify" in unused
    assert not {f"twilio.rest.{d}" for d in used} & set(unused)


@pytest.mark.skipif(not LINUX, reason="the patterns are checked against Linux's Qt plugins")
@pytest.mark.parametrize("pattern", sorted(spec_table("LEFT_OUT_FILES")))
def test_each_left_out_file_pattern_matches_installed_files(pattern):
    """Destinations in the bundle are paths below site-packages (PySide6/Qt/plugins/...)."""
    import pyqtgraph
    import PySide6

    site = Path(PySide6.__file__).parent.parent
    files = [
        p.relative_to(site).as_posix()
        for top in (Path(PySide6.__file__).parent, Path(pyqtgraph.__file__).parent)
        for p in top.rglob("*")
        if p.is_file()
    ]
    assert any(fnmatch(f, pattern) for f in files), f"{pattern} matches nothing installed"


def test_the_window_keeps_its_desktop_plugins():
    """X11, Wayland, offscreen, input methods, the SVG icon and portal theme stay."""
    kept = [
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqwayland.so",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/Qt/plugins/platforminputcontexts/libibusplatforminputcontextplugin.so",
        "PySide6/Qt/plugins/platforminputcontexts/libcomposeplatforminputcontextplugin.so",
        "PySide6/Qt/plugins/iconengines/libqsvgicon.so",
        "PySide6/Qt/plugins/imageformats/libqsvg.so",
        "PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so",
        "PySide6/Qt/plugins/xcbglintegrations/libqxcb-glx-integration.so",
        "PySide6/Qt/plugins/wayland-shell-integration/libxdg-shell.so",
        "pyqtgraph/icons/auto.png",
    ]
    toc = [(dest, dest, "BINARY") for dest in kept]
    still, gone = bundle_trim.split(toc, spec_table("LEFT_OUT_FILES"))
    assert gone == [] and still == toc


# -- the application runs without what is left out ----------------------------------------

WITHOUT_LEFT_OUT = textwrap.dedent(
    """
    import importlib, importlib.abc, json, pkgutil, sys
    from datetime import date

    LEFT_OUT = json.loads(sys.argv[1])

    class LeftOut(importlib.abc.MetaPathFinder):
        # As in the bundle: these modules are not there.
        def find_spec(self, name, path=None, target=None):
            if any(name == m or name.startswith(m + ".") for m in LEFT_OUT):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, LeftOut())

    import trustpager_desktop
    for info in pkgutil.walk_packages(trustpager_desktop.__path__, "trustpager_desktop."):
        if ".migrations." not in info.name and not info.name.endswith("__main__"):
            importlib.import_module(info.name)

    from trustpager_desktop.cli import main
    db = "sqlite:///" + sys.argv[2]
    for args in (["demo"], ["status"], ["log", "verify"], ["report"]):
        assert main(["--db", db, *args]) == 0, args  # alembic and mako run, pygments absent

    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    import pyqtgraph  # with QtTest, numpy.random and the rest gone
    from trustpager_desktop.ui.insights_page import WeeklyBarChart
    chart = WeeklyBarChart("Opt-outs per week", "#c2410c")
    chart.resize(400, 240)
    chart.set_weeks([date(2026, 11, 2), date(2026, 11, 9)], [2, 1])
    assert not chart.grab().isNull()

    from trustpager_desktop.providers.twilio_provider import TwilioProvider
    provider = TwilioProvider("AC" + "0" * 32, "token", "+14155550100",
                              api_base="http://127.0.0.1:9")
    provider._account.messages  # the lazily loaded Messages resource of REST API 2010
    provider._client.messaging.v1.services  # Messaging Service senders

    # The Secret Service keyring backend and what it encrypts its session with.
    import keyring.backends.SecretService, secretstorage.dhcrypto

    from trustpager_desktop.core.auto_queue import recipient_timezone
    assert recipient_timezone("+14155550101", "UTC") == "America/Los_Angeles"
    print("ok")
    """
)


def test_the_application_runs_without_the_left_out_modules(tmp_path):
    """What the bundle lacks cannot be imported here either; the app's modules, the CLI
    with its migrations, a chart, the Twilio resources and phone time zones still work."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_STATE_HOME=str(tmp_path))
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TRUSTPAGER_TWILIO_FROM"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_LEFT_OUT, json.dumps(left_out_modules()),
         str(tmp_path / "x.db")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")


# -- the mechanics --------------------------------------------------------------------------


def test_split_leaves_out_matching_destinations():
    toc = [
        ("PySide6/Qt/plugins/tls/libqopensslbackend.so", "/s/a", "BINARY"),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", "/s/b", "BINARY"),
        ("PySide6/Qt/translations/qtbase_de.qm", "/s/c", "DATA"),
    ]
    kept, left_out = bundle_trim.split(toc, ["*/plugins/tls/*", "PySide6/*translations/*"])
    assert [e[0] for e in kept] == ["PySide6/Qt/plugins/platforms/libqxcb.so"]
    assert len(left_out) == 2


def test_orphans_are_the_libraries_only_left_out_files_needed():
    """ldd-style (transitive) dependencies: the theme plugin alone needs cairo and pango
    (and pango alone needs harfbuzz); Qt's core library is needed by what stays."""
    deps = {
        "/s/libqgtk3.so": {"libcairo.so.2", "libpango.so", "libharfbuzz.so", "libQt6Core.so.6"},
        "/s/libqxcb.so": {"libQt6Core.so.6", "libxcb-cursor.so.0"},
        "/s/libpango.so": {"libharfbuzz.so"},
        "/s/libcairo.so.2": set(),
        "/s/libharfbuzz.so": set(),
        "/s/libQt6Core.so.6": set(),
        "/s/libxcb-cursor.so.0": set(),
    }
    left_out = [("PySide6/Qt/plugins/platformthemes/libqgtk3.so", "/s/libqgtk3.so", "BINARY")]
    kept = [
        ("PySide6/Qt/plugins/platforms/libqxcb.so", "/s/libqxcb.so", "BINARY"),
        ("libpango.so", "/s/libpango.so", "BINARY"),
        ("libcairo.so.2", "/s/libcairo.so.2", "BINARY"),
        ("libharfbuzz.so", "/s/libharfbuzz.so", "BINARY"),
        ("PySide6/Qt/lib/libQt6Core.so.6", "/s/libQt6Core.so.6", "BINARY"),
        ("libxcb-cursor.so.0", "/s/libxcb-cursor.so.0", "BINARY"),
    ]
    still, gone = bundle_trim.without_orphans(kept, left_out, lambda src: deps[src])
    assert sorted(e[0] for e in gone) == ["libcairo.so.2", "libharfbuzz.so", "libpango.so"]
    assert [e[0] for e in still] == [
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/lib/libQt6Core.so.6",
        "libxcb-cursor.so.0",
    ]


needs_binutils = pytest.mark.skipif(
    not (LINUX and shutil.which("cc") and shutil.which("strip") and shutil.which("readelf")),
    reason="needs Linux with a C compiler and binutils",
)


def _library_with_debug_info(folder: Path) -> Path:
    source = folder / "answer.c"
    source.write_text("int answer(void) { return 42; }\n")
    library = folder / "libanswer.so"
    subprocess.run(["cc", "-g", "-shared", "-fPIC", "-o", library, source], check=True)
    return library


@needs_binutils
def test_strip_debug_info_makes_a_smaller_copy_that_still_loads(tmp_path):
    library = _library_with_debug_info(tmp_path)
    toc = [("libanswer.so", str(library), "BINARY"), ("data.txt", str(library), "DATA")]
    stripped, saved = bundle_trim.strip_debug_info(toc, tmp_path / "out")
    copy = Path(stripped[0][1])
    assert copy != library and saved == library.stat().st_size - copy.stat().st_size > 0
    assert stripped[1] == toc[1]  # data is never touched
    assert ctypes.CDLL(str(copy)).answer() == 42
    assert bundle_trim.strip_debug_info(stripped, tmp_path / "again")[1] == 0  # nothing left


@needs_binutils
def test_strip_debug_info_keeps_the_original_when_the_segments_move(tmp_path, monkeypatch):
    """As strip does to a library patchelf rewrote: the loader would refuse the copy."""
    library = _library_with_debug_info(tmp_path)
    real = bundle_trim._load_segments

    def moved(path, readelf):
        segments = real(path, readelf)
        return segments + [["moved"]] if "out" in Path(path).parts else segments

    monkeypatch.setattr(bundle_trim, "_load_segments", moved)
    toc = [("libanswer.so", str(library), "BINARY")]
    assert bundle_trim.strip_debug_info(toc, tmp_path / "out") == (toc, 0)


# -- one program under two names on Linux ---------------------------------------------------


def test_the_linux_entry_is_the_command_line_as_trustpager_and_the_window_otherwise(tmp_path):
    entry = PACKAGING / "entry_linux.py"
    as_cli = tmp_path / "trustpager"
    as_cli.symlink_to(entry)
    env = dict(os.environ, PYTHONPATH=str(REPO))

    def version(script: Path) -> str:
        done = subprocess.run(
            [sys.executable, str(script), "--version"], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert version(as_cli).startswith("trustpager ")
    assert version(entry).startswith("trustpager-desktop ")


def test_the_bundle_check_pictures_every_screen_the_window_offers():
    from trustpager_desktop.ui.main_window import TARGETS

    check_bundle = _load("check_bundle")
    offered = [t.strip() for t in TARGETS.split(",")]
    pictured = [s.split(":")[0] + (":ID" if ":" in s else "") for s in check_bundle.SCREENS]
    assert pictured == offered
