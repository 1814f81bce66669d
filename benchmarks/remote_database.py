"""The window against a distant shared PostgreSQL database (issue 18 item 1).

    python benchmarks/remote_database.py [--runs 3] [--rtts 0,30,100] [--contacts 100000]

A local PostgreSQL (127.0.0.1:5432, user postgres) made distant by
``benchmarks/delay_proxy.py``, which holds every chunk RTT/2 in each direction and
counts the round trips that cross it. For each round-trip time it prints:

- cold start to first paint: ``python -m trustpager_desktop --db <through the proxy>
  --screenshot`` as a fresh process (``TRUSTPAGER_PRINT_FIRST_PAINT=1``), with the
  round trips and connections the proxy saw before the first paint; the floor is a
  bare process (Python + Qt + psycopg) connecting through the same proxy and reading
  the first 200 contacts;
- per action in a running window (start to the painted contact list, open a contact,
  open Opportunities, the Activity Log, Automations, one search keystroke): how long
  the GUI thread was busy with it and how long until its content was on screen (pages
  read off the GUI thread, so the window stays responsive meanwhile), and round trips counted twice, by the SQLAlchemy event counter
  (``store.round_trips``) and on the wire by the proxy (new connections apart);
- the longest GUI event-loop stall while navigating contacts, opportunities, activity
  and automations, measured by a 5 ms heartbeat QTimer (target < 50 ms at 100 ms RTT),
  with the action that caused it.

The data set (100,000 contacts plus the demo business's history) is built once in
the PostgreSQL database ``trustpager_bench_remote_<schema head>``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from benchmarks.datasets import add_contacts  # noqa: E402
from benchmarks.delay_proxy import DelayProxy  # noqa: E402
from trustpager_desktop.store.database import Database  # noqa: E402
from trustpager_desktop.store.migrate import head_revision  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
STALL_TARGET_MS = 50
FLOOR = (
    "import sys, psycopg; from PySide6.QtWidgets import QApplication, QLabel; "
    "app = QApplication([]); conn = psycopg.connect(sys.argv[1]); "
    "conn.execute('SELECT id, first_name, last_name FROM contacts "
    "ORDER BY last_name, first_name LIMIT 200').fetchall(); "
    "w = QLabel('x'); w.show(); app.processEvents()"
)


# -- the data set ------------------------------------------------------------------------


def bench_database(contacts: int) -> str:
    """The benchmark's database (built once): its URL on the real port."""
    name = f"trustpager_bench_remote_{contacts}_{head_revision()}"
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}_partial"'))
    admin.dispose()
    if not exists:
        began = time.perf_counter()
        print(f"Building {name} ...", flush=True)
        _fill(url + "_partial", contacts)
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}_partial" RENAME TO "{name}"'))
        admin.dispose()
        print(f"  built in {time.perf_counter() - began:.1f} s", flush=True)
    return url


def _fill(url: str, contacts: int) -> None:
    from trustpager_desktop.core import demo
    from trustpager_desktop.core.settings import AppSettings, save_settings

    db = Database.open(url)
    with db.write() as s:
        demo.fill_demo(s, actor="Bench")
        save_settings(s, AppSettings(first_run_done=True, provider_mode="sandbox"), actor="Bench")
    add_contacts(db, contacts)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    db.close()


def through(url: str, proxy: DelayProxy) -> str:
    return url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")


# -- cold start --------------------------------------------------------------------------


def cold_start(url: str, proxy: DelayProxy, png: Path) -> tuple[float, int, int]:
    """(seconds to first paint, round trips and connections before it) for one start."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TRUSTPAGER_PRINT_FIRST_PAINT="1")
    png.unlink(missing_ok=True)
    proxy.reset_counts()
    began = time.time()
    command = [sys.executable, "-m", "trustpager_desktop", "--db", url, "--screenshot", str(png)]
    painted, trips, connections, output = None, 0, 0, []
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True,
                          stdout=subprocess.DEVNULL) as child:  # fmt: skip
        assert child.stderr is not None
        for line in child.stderr:
            output.append(line)
            if painted is None and line.startswith("first-paint "):
                painted = float(line.split()[1]) - began
                trips, connections = proxy.round_trips, proxy.connections
    if child.returncode != 0 or painted is None:
        raise SystemExit(f"start failed (exit {child.returncode}):\n{''.join(output)}")
    return painted, trips, connections


def floor_start(url: str) -> float:
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    began = time.time()
    subprocess.run([sys.executable, "-c", FLOOR, plain], check=True,
                   env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))  # fmt: skip
    return time.time() - began


# -- a running window --------------------------------------------------------------------


class Meter:
    """Round trips of one action, counted by SQLAlchemy events and on the wire."""

    def __init__(self, proxy: DelayProxy) -> None:
        self.proxy = proxy
        self.counter = None  # a RoundTripCounter, where the code has one

    def begin(self) -> None:
        self.proxy.reset_counts()
        if self.counter is not None:
            self.counter.reset()

    def read(self) -> tuple[int, int, int, int]:
        """(events, new connections by events, wire round trips, wire connections)."""
        events = self.counter.total if self.counter is not None else 0
        made = self.counter.connections if self.counter is not None else 0
        return events, made, self.proxy.round_trips, self.proxy.connections


def settle(app, proxy: DelayProxy, quiet_s: float) -> None:  # type: ignore[no-untyped-def]
    """Let the event loop run until nothing has crossed the proxy for ``quiet_s`` (work
    an action left to a worker thread is then done)."""
    last, seen = time.monotonic(), proxy.round_trips
    while time.monotonic() - last < quiet_s:
        app.processEvents()
        time.sleep(0.002)
        if proxy.round_trips != seen:
            seen, last = proxy.round_trips, time.monotonic()


def window_actions(
    url: str, proxy: DelayProxy, rtt: float, runs: int, contact_ids: list[int]
) -> dict[str, list]:
    """Start a window through the proxy and time each action ``runs`` times.
    Returns action -> [(seconds, events, event connections, wire trips, wire connections)]."""
    from PySide6.QtWidgets import QApplication

    from trustpager_desktop.services import AppServices
    from trustpager_desktop.ui.main_window import MainWindow

    try:
        from trustpager_desktop.store.round_trips import RoundTripCounter
    except ImportError:  # code from before the counter existed: the wire counts alone
        RoundTripCounter = None  # noqa: N806

    app = QApplication.instance() or QApplication([])
    quiet = max(0.05, 3 * rtt / 1000)
    meter = Meter(proxy)
    results: dict[str, list] = {}

    def record(name: str, action: Callable[[], object], shows: Callable[[], object]) -> None:
        """Time ``action`` on the GUI thread, then until ``shows()`` (the page it shows)
        has its content on screen: pages read off the GUI thread, so the two differ."""
        meter.begin()
        began = time.perf_counter()
        action()
        app.processEvents()
        blocked = time.perf_counter() - began
        page = shows()
        while getattr(page, "is_loading", False):
            app.processEvents()
            time.sleep(0.001)
        shown = time.perf_counter() - began
        settle(app, proxy, quiet)
        results.setdefault(name, []).append((blocked, *meter.read(), shown))

    for run in range(runs):
        counter = RoundTripCounter() if RoundTripCounter else None  # every engine
        meter.counter = counter
        if counter is not None:
            counter.start()
        meter.begin()
        began = time.perf_counter()
        services = AppServices.open(url)
        window = MainWindow(services)
        window.show()
        app.processEvents()
        elapsed = time.perf_counter() - began
        browser = window.contact_browser
        while browser.is_loading:  # the first list, read off the GUI thread
            app.processEvents()
            time.sleep(0.001)
        shown = time.perf_counter() - began
        results.setdefault("start (in a warm process)", []).append((elapsed, *meter.read(), shown))
        settle(app, proxy, quiet)

        def current(w=window):  # type: ignore[no-untyped-def]
            return w.stack.currentWidget()

        for contact_id in contact_ids:
            record("open a contact", lambda c=contact_id, w=window: w.open_contact(c), current)
            record("back to contacts", window.go_back, current)
        for page in ("opportunities", "activity", "automations"):
            label = f"open {page}" + (" (first visit)" if run == 0 else "")
            record(label, lambda p=page, w=window: w.show_page(p), current)
            record(f"{page}: back", lambda w=window: w.show_page("contacts"), current)
        for word in ("Grace", "gra", "415 200"):
            browser.search.blockSignals(True)
            browser.search.setText(word)
            browser.search.blockSignals(False)
            record("search keystroke", browser.apply_search, lambda b=browser: b)
        browser.search.clear()
        browser.apply_search()
        if counter is not None:
            counter.stop()
        window.shutdown()
        window.deleteLater()
        app.processEvents()
        services.close()
    return results


def busy_contacts(url: str) -> list[int]:
    """Three demo contacts with the most history (messages, activity)."""
    from trustpager_desktop.store.models import ActivityEntry

    db = Database.open(url, migrate=False)
    with db.read() as s:
        ids = s.scalars(
            select(ActivityEntry.contact_id)
            .where(ActivityEntry.contact_id.is_not(None))
            .group_by(ActivityEntry.contact_id)
            .order_by(func.count().desc(), ActivityEntry.contact_id)
            .limit(3)
        ).all()
    db.close()
    return list(ids)


# -- stalls ------------------------------------------------------------------------------


def longest_stalls(url: str, contact_ids: list[int], rounds: int = 2) -> list[tuple[float, str]]:
    """Navigate contacts, opportunities, activity and automations with a 5 ms heartbeat
    timer running; returns (longest gap in ms, action) per action, longest first."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from trustpager_desktop.services import AppServices
    from trustpager_desktop.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    services = AppServices.open(url)
    window = MainWindow(services)
    window.show()
    app.processEvents()
    steps: list[tuple[str, Callable[[], object]]] = []
    for _ in range(rounds):
        for cid in contact_ids:
            steps.append(("open a contact", lambda c=cid: window.open_contact(c)))
            steps.append(("back to contacts", window.go_back))
        for page in ("opportunities", "activity", "automations", "contacts"):
            steps.append((f"show {page}", lambda p=page: window.show_page(p)))
    worst: dict[str, float] = {}
    clock = QElapsedTimer()
    clock.start()
    state = {"last": clock.elapsed(), "action": "idle"}

    def beat() -> None:
        now = clock.elapsed()
        gap = now - state["last"]
        state["last"] = now
        name = state["action"]
        worst[name] = max(worst.get(name, 0.0), float(gap))

    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(beat)
    heartbeat.start()
    loop = QEventLoop()
    queue = list(steps)

    def next_step() -> None:
        if not queue:
            state["action"] = "idle"
            loop.quit()
            return
        name, action = queue.pop(0)
        state["action"] = name
        action()
        # the gap that the action caused is measured by the next heartbeat
        QTimer.singleShot(400, next_step)

    QTimer.singleShot(200, next_step)
    loop.exec()
    heartbeat.stop()
    window.shutdown()
    window.deleteLater()
    app.processEvents()
    services.close()
    return sorted(((ms, name) for name, ms in worst.items()), reverse=True)


# -- printing ----------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def print_actions(results: dict[str, list]) -> None:
    print(f"  {'action':<34} {'GUI thread busy, ms':>20} {'content shown, ms':>22}"
          f"  {'round trips: events / wire':>28}")  # fmt: skip
    for name, rows in results.items():
        times = [r[0] for r in rows]
        shown = [r[5] for r in rows]
        events = sorted({r[1] for r in rows}) if any(r[1] for r in rows) else ["-"]
        wire = sorted({r[3] for r in rows})
        made = max(r[4] for r in rows)
        trips = f"{'/'.join(map(str, events))} / {'/'.join(map(str, wire))}"
        if made:
            trips += f" (+{made} new connections)"
        print(f"  {name:<34} {spread_of(times):>20} {spread_of(shown):>22}  {trips:>28}")


def spread_of(seconds: list[float]) -> str:
    """'median (min-max)' in milliseconds."""
    return f"{ms(statistics.median(seconds))} ({ms(min(seconds))}-{ms(max(seconds))})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rtts", default="0,30,100", help="round-trip times in ms")
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    url = bench_database(args.contacts)
    contact_ids = busy_contacts(url)
    proxy = DelayProxy(0).start()
    rtts = [float(r) for r in args.rtts.split(",")]
    print(f"PostgreSQL {args.contacts:,} contacts + the demo business, through "
          f"benchmarks/delay_proxy.py; {args.runs} runs each\n")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "first.png"
        for rtt in rtts:
            proxy.set_rtt(rtt)
            proxied = through(url, proxy)
            print(f"== RTT {rtt:g} ms ==")
            cold_start(proxied, proxy, png)  # warm the OS file cache and the server once
            starts = [cold_start(proxied, proxy, png) for _ in range(args.runs)]
            floors = [floor_start(proxied) for _ in range(args.runs)]
            med = statistics.median(s[0] for s in starts)
            floor = statistics.median(floors)
            trips = sorted({s[1] for s in starts})
            print(f"  cold start to first paint: median {ms(med)} ms "
                  f"({ms(min(s[0] for s in starts))}-{ms(max(s[0] for s in starts))}); "
                  f"{'/'.join(map(str, trips))} round trips and {starts[0][2]} connections "
                  f"on the wire before it; floor {ms(floor)} ms, ratio {med / floor:.1f}x")  # fmt: skip
            print_actions(window_actions(proxied, proxy, rtt, args.runs, contact_ids))
            stalls = longest_stalls(proxied, contact_ids)
            worst, action = stalls[0]
            verdict = "MET" if worst < STALL_TARGET_MS else "MISSED"
            print(f"  longest GUI stall navigating: {worst:,.0f} ms ({action}); target < "
                  f"{STALL_TARGET_MS} ms at 100 ms: {verdict if rtt >= 100 else '-'}")  # fmt: skip
            print("    per action: " + ", ".join(f"{name} {gap:,.0f}" for gap, name in stalls))
            print()
    proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
