"""Smoke-test a built bundle: run the programs in it the way a user would.

    python packaging/check_bundle.py dist/trustpager-desktop

Runs ``trustpager-desktop --version``, ``trustpager-desktop --screenshot`` offscreen
against a fresh SQLite database (so migrations run from the bundle), checks the PNG,
and runs ``trustpager --version`` and ``trustpager status``. Exits 1 on the first failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def program(bundle: Path, name: str) -> Path:
    suffix = ".exe" if sys.platform == "win32" else ""
    path = bundle / f"{name}{suffix}"
    if not path.is_file():
        raise SystemExit(f"check: {path} is missing")
    return path


def run(args: list[str], env: dict[str, str]) -> str:
    print("check: $", " ".join(args), flush=True)
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        raise SystemExit(
            f"check: exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
    return done.stdout.strip()


def check_x11_libraries(bundle: Path) -> None:
    """Linux: the X11 platform plugin in the bundle finds every library it links to, from
    the bundle or the system (the offscreen screenshot above does not load it)."""
    if not sys.platform.startswith("linux"):
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
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
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_STATE_HOME=tmp)
        env.pop("TWILIO_AUTH_TOKEN", None)
        db_url = f"sqlite:///{Path(tmp) / 'check.db'}"
        shot = Path(tmp) / "window.png"
        print("check:", run([str(gui), "--version"], env))
        run([str(gui), "--db", db_url, "--screenshot", str(shot)], env)
        if not shot.is_file() or not shot.read_bytes().startswith(PNG_MAGIC):
            raise SystemExit(f"check: {shot} was not written as a PNG")
        print(f"check: screenshot {shot.stat().st_size} bytes")
        print("check:", run([str(cli), "--version"], env))
        print("check:", run([str(cli), "--db", db_url, "status"], env).replace("\n", " | "))
    check_x11_libraries(bundle)
    print("check: the bundle works")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
