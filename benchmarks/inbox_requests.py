"""Twilio API requests per day for the inbox: before (list everything since the start of
the previous UTC day every 30 s) and after (incremental reads, hourly sweeps, one poller
per database, the inbox read before dispatch).

A business receives 500 and sends 5,000 texts a day. The simulation runs two days on a
moved clock (the first fills "the previous UTC day") and counts day two. The "after"
side is the real code: ``InboxPoller`` ticking every half interval, ``DispatchInboxCheck``
before each batch of texts, ``OutboundGateway`` recording every send, on a real SQLite
database. Twilio is a model of its list API (``TwilioModel``: newest first, ``To``/
``From``/day filters, pages of ``PageSize``; one request per page, Messaging Service
number lists counted too). The "before" side replays today's poller against the same
model: every 30 s, every page since the start of the previous UTC day, filtered to the
sender number (or the whole account for a Messaging Service).

    python benchmarks/inbox_requests.py [--scenario all|number|service] [--days 2]

Scenarios: sender a phone number / a Messaging Service with 3 numbers; texts sent
evenly through the sending hours (08:00-21:00 New York, one every ~9 s) or in 10
scheduled batches of 500.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trustpager_desktop.core.clock import FixedClock  # noqa: E402
from trustpager_desktop.core.gateway import AutomationOrigin, OutboundGateway, SendRequest  # noqa: E402
from trustpager_desktop.core.inbox_read import start_of_previous_utc_day  # noqa: E402
from trustpager_desktop.core.settings import AppSettings  # noqa: E402
from trustpager_desktop.providers.base import MessageQuery, MessageRecord, SendResult  # noqa: E402
from trustpager_desktop.runtime.inbox_poller import (  # noqa: E402
    DispatchInboxCheck,
    InboxPoller,
    InboxReader,
)
from trustpager_desktop.store.database import Database  # noqa: E402

START = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # Monday 00:00 in New York
RECEIVED_PER_DAY = 500
SENT_PER_DAY = 5_000
POLL_SECONDS = 30
DISPATCH_SECONDS = 5
NUMBER = "+14155550100"
SERVICE = "MG" + "ab" * 16
SERVICE_NUMBERS = ["+14155550100", "+14155550111", "+14155550122"]
SETTINGS = AppSettings(poll_interval_seconds=POLL_SECONDS, quiet_hours_start=0, quiet_hours_end=24)


class TwilioModel:
    """Twilio's message list as far as request counting goes. Not thread-safe (one thread)."""

    name = "twilio"
    inbox_is_shared = True
    description = "Twilio model"

    def __init__(self, sender: str, clock: FixedClock) -> None:
        self.sender = sender
        self.clock = clock
        self.uses_messaging_service = sender.startswith("MG")
        self.numbers = SERVICE_NUMBERS if self.uses_messaging_service else [sender]
        self.messages: list[MessageRecord] = []  # in date order: the simulation moves forward
        self.requests: Counter[str] = Counter()
        self._sent = 0

    def add_inbound(self, from_: str) -> None:
        to = self.numbers[len(self.messages) % len(self.numbers)]
        self.messages.append(
            MessageRecord(
                "SM" + uuid.uuid4().hex,
                from_,
                to,
                "Thanks",
                self.clock.now(),
                "inbound",
                "received",
            )
        )

    def send(self, to_e164: str, body: str) -> SendResult:
        self.requests["send"] += 1
        self._sent += 1
        sid = "SM" + uuid.uuid4().hex
        sender = self.numbers[self._sent % len(self.numbers)]
        self.messages.append(
            MessageRecord(sid, sender, to_e164, body, self.clock.now(), "outbound-api", "delivered")
        )
        return SendResult(sid, "queued")

    def list_message_pages(self, query: MessageQuery) -> Iterator[list[MessageRecord]]:
        day = datetime.combine(query.since.astimezone(UTC).date(), datetime.min.time(), UTC)
        page: list[MessageRecord] = []
        self.requests["list"] += 1  # the first page is a request even when empty
        for message in reversed(self.messages):
            if message.date_sent < day:
                break
            if query.to and message.to_number != query.to:
                continue
            if query.from_ and message.from_number != query.from_:
                continue
            if len(page) == query.page_size:
                yield page
                page = []
                self.requests["list"] += 1
            page.append(message)
        yield page

    def list_inbound(self, since: datetime) -> Iterator[MessageRecord]:
        for page in self.list_message_pages(MessageQuery(since)):
            yield from (r for r in page if r.inbound)

    def account_numbers(self) -> list[str]:
        if self.uses_messaging_service:
            self.requests["service numbers"] += 1
        return list(self.numbers)

    def fetch_status(self, sid: str) -> str | None:
        return "delivered"

    def test_connection(self) -> str:
        return "model"


@dataclass(frozen=True)
class Scenario:
    name: str
    sender: str
    batched: bool


def _send_times(day_start: datetime, batched: bool, rng: random.Random) -> list[datetime]:
    """When the day's 5,000 texts fall due (New York 08:00-21:00)."""
    window_start = day_start + timedelta(hours=8)
    if batched:  # ten scheduled automations of 500 texts, 09:00 to 18:00
        return sorted(
            day_start + timedelta(hours=9 + n) for n in range(10) for _ in range(SENT_PER_DAY // 10)
        )
    step = 13 * 3600 / SENT_PER_DAY
    return [window_start + timedelta(seconds=step * n) for n in range(SENT_PER_DAY)]


def _receive_times(day_start: datetime, rng: random.Random) -> list[datetime]:
    """500 replies spread over 07:00-22:00 New York."""
    return sorted(
        day_start + timedelta(hours=7, seconds=rng.uniform(0, 15 * 3600))
        for _ in range(RECEIVED_PER_DAY)
    )


def run(scenario: Scenario, days: int) -> dict[str, Counter[str]]:
    """Simulate ``days`` days; the request counts of the last one, before and after."""
    rng = random.Random(20261123)
    clock = FixedClock(START - timedelta(days=days - 1))
    folder = Path(tempfile.mkdtemp(prefix="inbox-requests-"))
    db = Database.open(f"sqlite:///{folder / 'bench.db'}")
    model = TwilioModel(scenario.sender, clock)
    gateway = OutboundGateway(db, model, clock=clock)
    poller = InboxPoller(db, model, clock, settings=SETTINGS, rand=lambda: 1.0)
    reader = InboxReader(
        db, lambda: model, clock, lambda: SETTINGS, worker="dispatch", label="bench (agent)"
    )
    check = DispatchInboxCheck(reader)
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    origin = AutomationOrigin(1, "Reminder", 1, 1)
    for day in range(days):
        day_start = clock.now()
        counted = day == days - 1
        sends = _send_times(day_start, scenario.batched, rng)
        receives = _receive_times(day_start, rng)
        model.requests.clear()
        reads_before_dispatch = 0
        for tick in range(0, 86400, DISPATCH_SECONDS):
            now = day_start + timedelta(seconds=tick)
            clock.set(now)
            while receives and receives[0] <= now:
                clock.set(receives.pop(0))
                model.add_inbound(_customer(rng))
            clock.set(now)
            due, due_at = [], None
            while sends and sends[0] <= now:
                due_at = sends.pop(0)
                due.append(SendRequest("Reminder", origin, to=_customer(rng)))
            if due:  # the automation runner: read the inbox unless read since due, then send
                lists = model.requests["list"]
                inbox = check(due_at)
                reads_before_dispatch += model.requests["list"] > lists
                for start in range(0, len(due), 50):
                    gateway.send_batch(due[start : start + 50], inbox=inbox)
            if tick % (POLL_SECONDS // 2) == 0:
                poller.run_once()
            if counted and tick % POLL_SECONDS == 0:
                before["list"] += _old_poll(model, now)
        clock.set(day_start + timedelta(days=1))
        if counted:
            after.update(model.requests)
            after["reads before dispatch"] = reads_before_dispatch
    db.close()
    return {"before": before, "after": after}


def _customer(rng: random.Random) -> str:
    """A valid New York mobile-looking number."""
    return f"+1646{rng.randrange(200, 999)}{rng.randrange(10_000):04d}"


def _old_poll(model: TwilioModel, now: datetime) -> int:
    """Today's poller: every page since the start of the previous UTC day (not counted
    in the model's own tally)."""
    query = MessageQuery(
        start_of_previous_utc_day(now), to=None if model.uses_messaging_service else model.sender
    )
    saved = model.requests["list"]
    pages = sum(1 for _ in model.list_message_pages(query))
    model.requests["list"] = saved
    return pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("all", "number", "service"), default="all")
    parser.add_argument("--days", type=int, default=2, help="days simulated; the last is counted")
    args = parser.parse_args()
    scenarios = [
        Scenario("phone number sender, texts spread over the day", NUMBER, False),
        Scenario("phone number sender, 10 batches of 500", NUMBER, True),
        Scenario("Messaging Service (3 numbers), texts spread over the day", SERVICE, False),
        Scenario("Messaging Service (3 numbers), 10 batches of 500", SERVICE, True),
    ]
    if args.scenario != "all":
        scenarios = [s for s in scenarios if (s.sender == SERVICE) == (args.scenario == "service")]
    print(
        f"{RECEIVED_PER_DAY} texts received and {SENT_PER_DAY:,} sent a day; poll every "
        f"{POLL_SECONDS} s, dispatch every {DISPATCH_SECONDS} s; API list requests per day"
    )
    for scenario in scenarios:
        began = time.perf_counter()
        counts = run(scenario, args.days)
        b, a = counts["before"], counts["after"]
        total_after = a["list"] + a["service numbers"]
        print(f"\n{scenario.name}:")
        print(
            f"  before: {b['list']:>6,} list requests a day (one desktop; each more desktop adds as many)"
        )
        print(
            f"  after:  {total_after:>6,} ({a['list']:,} list pages, of which "
            f"{a['reads before dispatch']:,} reads just before dispatch; "
            f"{a['service numbers']} Messaging Service number lists), the same for any "
            f"number of desktops"
        )
        print(
            f"  ratio:  {b['list'] / max(1, total_after):.1f}x fewer; sends: {a['send']:,} POSTs either way"
        )
        print(f"  ({time.perf_counter() - began:.0f} s to simulate)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
