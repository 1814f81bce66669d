"""Demo data: a believable small business to try the application in sandbox mode.

About 50 contacts (a few opted out, with history), opportunities in several
stages, and two automations. Everything goes through the same core rules as
real use, so the activity log and consent history are genuine.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustpager_desktop.core import consent, contacts
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock, FixedClock
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.core.opportunities import DEFAULT_STAGES
from trustpager_desktop.core.states import ConsentSource
from trustpager_desktop.store.models import Automation, AutomationStep, Contact, Opportunity

FIRST = ["Ann", "Ben", "Carla", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal",
         "Kate", "Luis", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tara",
         "Umar", "Vera", "Will", "Xin", "Yara", "Zoe"]  # fmt: skip
LAST = ["Lee", "Marsh", "Diaz", "Patel", "Novak", "Khan", "Okafor", "Sato", "Moreau", "Price",
        "Walsh", "Ortega", "Berg", "Cohen", "Ivanova", "Shah", "Reyes", "Fox", "Kim", "Brooks"]  # fmt: skip
COMPANIES = ["", "", "Lee Plumbing", "Marsh & Co", "Harbor Dental", "Sunrise Bakery",
             "Northside Realty", "Blue Fin Sushi", "Oak Street Gym", ""]  # fmt: skip
STAGES = list(DEFAULT_STAGES)
DEMO_CONTACTS = 50


def is_empty(session: Session) -> bool:
    return (session.scalar(select(func.count()).select_from(Contact)) or 0) == 0


def fill_demo(session: Session, *, actor: str = "Demo", clock: Clock = SYSTEM_CLOCK) -> int:
    """Add the demo business; returns the number of contacts added. Deterministic."""
    rng = random.Random(2026)
    created: list[Contact] = []
    # The demo business has existed for a while: contacts were added before their opt-outs.
    then = FixedClock(clock.now() - timedelta(days=120))
    for i in range(DEMO_CONTACTS):
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
        company = COMPANIES[i % len(COMPANIES)]
        data = ContactInput(
            first_name=first,
            last_name=last,
            company=company,
            email=f"{first}.{last}@example.com".lower(),
            phone=f"(415) 555-{100 + i:04d}" if i % 3 else f"415.555.{100 + i:04d}",
            tags="vip" if i % 9 == 0 else ("newsletter" if i % 4 == 0 else ""),
        )
        created.append(contacts.create_contact(session, data, actor=actor, clock=then))
    _demo_consent_history(session, created, actor, clock)
    _demo_opportunities(session, created, rng, clock)
    _demo_automations(session, clock)
    return len(created)


def _demo_consent_history(
    session: Session, people: list[Contact], actor: str, clock: Clock
) -> None:
    now = clock.now()
    for n, contact in enumerate(people[5:45:8]):
        received = now - timedelta(days=30 - n * 5, hours=n)
        # Honoured within a minute, as the inbox does: the compliance report shows it so.
        honoured = FixedClock(received + timedelta(seconds=40 + n))
        if n % 2 == 0:  # a STOP reply speaks for the number, as the inbox records it
            consent.opt_out_number(
                session,
                contact.phone_e164 or "",
                source=ConsentSource.STOP_REPLY,
                actor="Inbox",
                evidence="STOP",
                message_sid=f"SMdemo{n:026d}",
                received_at=received,
                clock=honoured,
            )
            continue
        consent.opt_out_contact(
            session,
            contact,
            source=ConsentSource.MANUAL_TOGGLE,
            actor=actor,
            evidence="Asked by phone not to be texted",
            received_at=received,
            clock=honoured,
        )
    returning = people[13]
    if returning.sms_opted_out:
        consent.re_consent_contact(
            session,
            returning,
            method="verbal",
            note="Called the office and asked to get reminders again",
            actor=actor,
            clock=clock,
        )


def _demo_opportunities(
    session: Session, people: list[Contact], rng: random.Random, clock: Clock
) -> None:
    jobs = ["Kitchen remodel", "Annual service plan", "Bathroom leak repair", "Water heater",
            "Office cleaning contract", "Spring promotion", "Deck repair"]  # fmt: skip
    for i, contact in enumerate(people[:18]):
        session.add(
            Opportunity(
                title=jobs[i % len(jobs)],
                value=Decimal(rng.randrange(150, 12_000, 50)),
                stage=STAGES[i % len(STAGES)],
                contact=contact,
                created_at=clock.now() - timedelta(days=i),
            )
        )


def _demo_automations(session: Session, clock: Clock) -> None:
    reminder = Automation(name="Appointment reminder", enabled=True, created_at=clock.now())
    reminder.steps = [
        AutomationStep(position=1, action_type="send_sms",
                       template="Hi {first_name}, a reminder of your appointment tomorrow. Reply STOP to opt out."),
        AutomationStep(position=2, action_type="wait", wait_seconds=86_400),
        AutomationStep(position=3, action_type="create_task", task_title="Call {first_name} to confirm"),
    ]  # fmt: skip
    follow_up = Automation(
        name="Quote follow-up",
        enabled=False,
        created_at=clock.now(),
        schedule=json.dumps(
            {
                "trigger": "cron",
                "day_of_week": "mon-fri",
                "hour": 9,
                "minute": 0,
                "audience": {"stage": "Quote sent"},
            }  # fmt: skip
        ),
    )
    follow_up.steps = [
        AutomationStep(position=1, action_type="send_sms",
                       template="Hi {first_name}, any questions about the quote we sent {company}?"),
        AutomationStep(position=2, action_type="wait", wait_seconds=3 * 86_400),
        AutomationStep(position=3, action_type="send_sms",
                       template="Hi {first_name}, just checking in on your quote. Reply STOP to opt out."),
    ]  # fmt: skip
    session.add_all([reminder, follow_up])
