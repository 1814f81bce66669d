"""Smoke-test a built bundle: run the programs in it the way a user would.

    python packaging/check_bundle.py dist/trustpager-desktop

Everything the spec leaves out of the bundle (see ``packaging/trustpager.spec``) was left
out because none of these paths loads it, so each path is run here against the bundle:

- both programs' ``--version``; the window's ``--screenshot`` offscreen on a fresh SQLite
  database (the bundled migrations run);
- ``trustpager demo`` and ``contacts add``, then a screenshot of every ``--show`` target
  (``SCREENS``), each checked as a PNG of the requested size; on Insights the opt-out bars
  must be drawn (pyqtgraph and numpy load in the bundle);
- ``trustpager status``, ``log verify``, ``report`` and ``report compliance`` writing a PDF
  (Qt's PDF writer and fonts) and a CSV;
- Twilio through the real client against the local fake server of the tests
  (``tests/support/fake_twilio.py``, run here, outside the bundle): ``status`` names the
  Twilio sender, ``agent --once`` lists the inbox and acts on a STOP, the window starts
  with Twilio set up, and the auth token reaches no log line;
- Linux: the X11 platform plugin finds every library it links to.

Exits 1 on the first failure, saying what failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PDF_MAGIC = b"%PDF-"
SCREEN_SIZE = (1024, 700)
# Every --show target of trustpager-desktop (ui.main_window.TARGETS; a unit test keeps the
# two lists equal). IDs are the demo's: contact 38 opted out by STOP, opportunity 1.
SCREENS = (
    "contacts",
    "contact:38",
    "opportunities",
    "opportunity:1",
    "automations",
    "queue",
    "activity",
    "review",
    "optouts",
    "insights",
    "settings",
)
# The Insights page's opt-out bars, in the light palette, cover thousands of pixels of
# this colour when drawn (the demo has opt-outs in the last weeks).
MIN_BAR_PIXELS = 2000
CHECK_NUMBER = "(415) 555-0188"  # a number the demo does not use
CHECK_E164 = "+14155550188"


def program(bundle: Path, name: str) -> Path:
    suffix = ".exe" if sys.platform == "win32" else ""
    path = bundle / f"{name}{suffix}"
    if not path.is_file():
        raise SystemExit(f"check: {path} is missing")
    return path


def run(args: list[str | Path], env: dict[str, str]) -> str:
    """Run one command; its standard output, or exit with everything it said."""
    shown = [str(a) for a in args]
    print("check: $", " ".join(shown), flush=True)
    done = subprocess.run(shown, env=env, capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        raise SystemExit(
            f"check: exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
    return done.stdout.strip()


def expect(condition: bool, failure: str) -> None:
    if not condition:
        raise SystemExit(f"check: {failure}")


def check_png(path: Path, size: tuple[int, int] | None = None) -> None:
    expect(path.is_file() and path.read_bytes().startswith(PNG_MAGIC), f"{path} is not a PNG")
    if size is not None:
        image = load_image(path)
        expect((image.width(), image.height()) == size, f"{path.name} is not {size[0]}x{size[1]}")


def load_image(path: Path):  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QImage  # the build's venv has PySide6

    image = QImage(str(path))
    expect(not image.isNull(), f"{path} cannot be read as an image")
    return image


def count_pixels(path: Path, colour: str) -> int:
    """How many pixels of ``path`` are exactly ``colour`` (#rrggbb)."""
    from PySide6.QtGui import QColor

    image = load_image(path)
    wanted = QColor(colour).rgb()
    return sum(
        image.pixel(x, y) == wanted for y in range(image.height()) for x in range(image.width())
    )


def check_screens(gui: Path, db_url: str, folder: Path, env: dict[str, str]) -> None:
    """A screenshot of every --show target; Insights with its charts drawn."""
    sys.path.insert(0, str(REPO))
    from trustpager_desktop.ui.theme import Tone  # the bars' colour in the light palette

    size = "x".join(str(n) for n in SCREEN_SIZE)
    for target in SCREENS:
        shot = folder / f"{target.replace(':', '-')}.png"
        args = [gui, "--db", db_url, "--screenshot", shot, "--show", target, "--size", size]
        run([*args, "--palette", "light"], env)
        check_png(shot, SCREEN_SIZE)
    bars = count_pixels(folder / "insights.png", Tone.WARNING.value)
    expect(bars >= MIN_BAR_PIXELS, f"the Insights charts were not drawn ({bars} bar pixels)")
    print(f"check: {len(SCREENS)} screens pictured; Insights opt-out bars: {bars} pixels")


def check_commands(cli: Path, db_url: str, folder: Path, env: dict[str, str]) -> None:
    """The command line: status, log verify, the report, the compliance PDF and CSV."""
    status = run([cli, "--db", db_url, "status"], env)
    expect("Contacts: 51" in status, f"status does not count 51 contacts:\n{status}")
    verified = run([cli, "--db", db_url, "log", "verify"], env)
    expect("intact" in verified, f"log verify did not find the log intact:\n{verified}")
    report = run([cli, "--db", db_url, "report"], env)
    expect("Week of" in report and "opt-outs: 5" in report, f"a wrong report:\n{report}")
    pdf, csv = folder / "compliance.pdf", folder / "compliance.csv"
    month = f"{date.today():%Y-%m}"
    args = ["report", "compliance", "--month", month, "--pdf", pdf, "--csv", csv]
    run([cli, "--db", db_url, *args], env)
    expect(pdf.is_file() and pdf.read_bytes().startswith(PDF_MAGIC), f"{pdf} is not a PDF")
    expect(pdf.stat().st_size > 2000, f"{pdf} is nearly empty ({pdf.stat().st_size} bytes)")
    expect(csv.is_file() and csv.stat().st_size > 0, f"{csv} was not written")
    print(f"check: compliance report {month}: PDF {pdf.stat().st_size} bytes, CSV written")


@contextmanager
def fake_twilio() -> Iterator:
    """The tests' local Twilio stand-in, on 127.0.0.1 (nothing leaves the machine)."""
    sys.path.insert(0, str(REPO))
    from tests.support.fake_twilio import FakeTwilio

    with FakeTwilio() as fake:
        yield fake


def check_twilio(gui: Path, cli: Path, db_url: str, folder: Path, env: dict[str, str]) -> None:
    """The real twilio client in the bundle, pointed at the fake server: a STOP is listed
    and acted on by ``agent --once``; the window starts with Twilio set up."""
    with fake_twilio() as fake:
        twilio_env = dict(
            env,
            TWILIO_ACCOUNT_SID=fake.account_sid,
            TWILIO_AUTH_TOKEN=fake.auth_token,
            TRUSTPAGER_TWILIO_FROM=fake.phone_number,
            TRUSTPAGER_TWILIO_API_BASE=fake.base_url,
        )
        status = run([cli, "--db", db_url, "status"], twilio_env)
        expect("Provider: Twilio" in status, f"status does not use Twilio:\n{status}")
        fake.add_inbound(CHECK_E164, fake.phone_number, "STOP")
        print("check:", run([cli, "--db", db_url, "agent", "--once"], twilio_env))
        expect(fake.requests_to("/Messages.json", "GET"), "the agent did not list the inbox")
        listed = run([cli, "--db", db_url, "contacts", "list", CHECK_NUMBER], twilio_env)
        expect("OPTED OUT" in listed, f"the STOP from {CHECK_NUMBER} was not acted on:\n{listed}")
        shot = folder / "twilio.png"
        run([gui, "--db", db_url, "--screenshot", shot, "--show", "settings"], twilio_env)
        check_png(shot)
        token = fake.auth_token
    logs = [p for p in Path(env["XDG_STATE_HOME"]).rglob("*.log*") if p.is_file()]
    expect(bool(logs), "no log file was written")
    expect(
        all(token not in p.read_text(errors="replace") for p in logs),
        "the Twilio auth token reached a log file",
    )
    print(f"check: Twilio: inbox listed, STOP acted on; token in none of {len(logs)} log file(s)")


def check_x11_libraries(bundle: Path) -> None:
    """Linux: the X11 platform plugin in the bundle finds every library it links to, from
    the bundle or the system (the offscreen screenshots above do not load it)."""
    if not sys.platform.startswith("linux"):
        return
    sys.path.insert(0, str(REPO))
    from trustpager_desktop.platform_check import install_hint, unresolved_libraries

    internal = bundle / "_internal"
    plugins = sorted(internal.rglob("platforms/libqxcb.so"))
    if not plugins:
        raise SystemExit("check: the X11 platform plugin (libqxcb.so) is not in the bundle")
    qpa = sorted(internal.rglob("libQt6XcbQpa.so*"))
    # What the bundled program sees: its own folder first, then the system's libraries.
    search = [str(internal), *(str(p.parent) for p in qpa[:1])]
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(search))
    missing = unresolved_libraries([plugins[0], *qpa[:1]], env=env)
    if missing:
        raise SystemExit("check: the bundle cannot open a window on X11:\n" + install_hint(missing))
    print(f"check: X11 plugin {plugins[0].relative_to(bundle)} finds all its libraries")


def main(argv: list[str]) -> int:
    bundle = Path(argv[1] if len(argv) > 1 else "dist/trustpager-desktop")
    gui, cli = program(bundle, "trustpager-desktop"), program(bundle, "trustpager")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_STATE_HOME=tmp)
        for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TRUSTPAGER_TWILIO_FROM"):
            env.pop(name, None)
        db_url = f"sqlite:///{folder / 'check.db'}"
        shot = folder / "window.png"
        print("check:", run([gui, "--version"], env))
        run([gui, "--db", db_url, "--screenshot", shot], env)  # migrates the new database
        check_png(shot)
        print(f"check: screenshot {shot.stat().st_size} bytes")
        print("check:", run([cli, "--version"], env))
        run([cli, "--db", db_url, "demo"], env)
        run([cli, "--db", db_url, "contacts", "add", "Check", "--phone", CHECK_NUMBER], env)
        check_screens(gui, db_url, folder, env)
        check_commands(cli, db_url, folder, env)
        check_twilio(gui, cli, db_url, folder, env)
    check_x11_libraries(bundle)
    print("check: the bundle works")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
