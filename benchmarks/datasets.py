"""Build large data sets fast (bulk inserts), for benchmarks and scale tests.

Contacts are inserted with SQLAlchemy Core executemany, not one by one through
``create_contact``, so 100,000 rows take seconds. The rows are the same shape
``create_contact`` writes (search_text included), so queries behave as in use.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert

from trustpager_desktop.core.replies import ReplyKind
from trustpager_desktop.core.states import (
    ConsentEventKind,
    ConsentSource,
    DeliveryStatus,
    MessageOrigin,
    MessageStatus,
    ReviewStatus,
    SuppressionResult,
)
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import Contact

FIRST = ["Ann", "Ben", "Carla", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal"]
LAST = ["Lee", "Marsh", "Diaz", "Patel", "Novak", "Khan", "Okafor", "Sato", "Moreau", "Price"]
COMPANIES = ["", "Lee Plumbing", "Harbor Dental", "Sunrise Bakery", "Oak Street Gym"]


def contact_rows(count: int, *, opted_out_every: int = 10, start: int = 0) -> list[dict]:
    """``count`` believable contacts with unique US numbers (+1 415 2xx xxxx)."""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    rows = []
    for i in range(start, start + count):
        first, last = FIRST[i % 10], f"{LAST[(i // 10) % 10]}{i}"
        company = COMPANIES[i % len(COMPANIES)]
        e164 = f"+1415{2000000 + i:07d}"
        email = f"{first}.{last}@example.com".lower()
        opted = opted_out_every > 0 and i % opted_out_every == 0
        rows.append(
            {
                "first_name": first,
                "last_name": last,
                "company": company,
                "email": email,
                "phone_raw": e164,
                "phone_e164": e164,
                "tags": "",
                "search_text": f"{first} {last} {company} {email} {e164[1:]}".lower(),
                "sms_opted_out": opted,
                "sms_opted_out_at": now if opted else None,
                "sms_opt_out_source": ConsentSource.IMPORT if opted else None,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def add_contacts(
    db: Database, count: int, *, batch: int = 20_000, opted_out_every: int = 10
) -> None:
    for start in range(0, count, batch):
        rows = contact_rows(min(batch, count - start), opted_out_every=opted_out_every, start=start)
        with db.write() as s:
            s.execute(insert(Contact), rows)


# ---- a year of texting, for the Insights page benchmark -----------------------------------

HISTORY_NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # FixedClock's default "now"
TEXTS = 400_000  # automation_sent is 40 % of the 1,000,000-entry log
SQLA_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime in SQLite


def _stamp(when: datetime) -> str:
    return when.replace(tzinfo=None).strftime(SQLA_TIME)


def add_texting_history(path, contacts: int, texts: int = TEXTS, seed: int = 19) -> dict:  # type: ignore[no-untyped-def]
    """Add a year (to HISTORY_NOW) of texts with Twilio delivery statuses and error codes,
    about one reply in four texts, 2 % opt-outs (most within 48 hours of a text) and 60
    replies waiting for review, straight into the SQLite file at ``path``. Uses the
    automations already there (each gets two Send SMS steps). Returns the counts."""
    import random
    import sqlite3
    from datetime import timedelta

    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    automations = [row[0] for row in conn.execute("SELECT id FROM automations ORDER BY id")]
    steps = []
    for aid in automations:
        for position in (1, 2):
            cur = conn.execute(
                "INSERT INTO automation_steps (automation_id, position, action_type, template,"
                " wait_seconds, task_title) VALUES (?, ?, 'send_sms', ?, 0, '')",
                (aid, position, f"Hi {{first_name}}, message {position} of automation {aid}"),
            )
            steps.append((aid, cur.lastrowid, position))
    start = HISTORY_NOW - timedelta(days=365)
    span = (HISTORY_NOW - start).total_seconds()
    out_rows, in_rows, consent_rows = [], [], []
    for n in range(texts):
        contact_id = rng.randrange(1, contacts + 1)
        number = f"+1415{2000000 + contact_id - 1:07d}"
        at = start + timedelta(seconds=span * n / texts)
        manual = rng.random() < 0.1
        aid, step_id, position = (None, None, None) if manual else rng.choice(steps)
        roll = rng.random()
        # What the gateway recorded (status, error_code) and what Twilio later said about
        # delivery (delivery_status, delivery_error_code), as core.delivery stores them.
        status, code, sid = MessageStatus.SENT, None, f"SM{n:032x}"
        delivery, delivery_code = DeliveryStatus.DELIVERED, None
        if roll < 0.03:
            delivery, delivery_code = DeliveryStatus.UNDELIVERED, rng.choice((30003, 30005, 30006))
        elif roll < 0.05:
            status, code, sid, delivery = MessageStatus.FAILED, 21211, None, None
        elif roll < 0.08:
            status, sid, delivery = MessageStatus.SUPPRESSED, None, None
        stamp = _stamp(at)
        out_rows.append((contact_id, number, "Hello", MessageOrigin.MANUAL if manual else MessageOrigin.AUTOMATION,
                         "manual_sms" if manual else "send_sms", "Dana" if manual else None,
                         aid, None if manual else f"Automation {aid}", step_id, position,
                         1, SuppressionResult.ALLOWED, 0, status, "twilio", sid, code,
                         delivery, delivery_code, stamp if sid else None, stamp, stamp))  # fmt: skip
        if sid and roll > 0.75:  # a reply within three days
            reply_at = at + timedelta(minutes=rng.randrange(1, 72 * 60))
            if reply_at < HISTORY_NOW:
                in_rows.append((f"SMin{n:030x}", number, number, "+15005550006", "Thanks",
                                _stamp(reply_at), _stamp(reply_at), _stamp(reply_at), "other",
                                None))  # fmt: skip
        if sid and roll > 0.98:  # an opt-out, nine in ten within 48 hours
            hours = rng.randrange(0, 48) if rng.random() < 0.9 else rng.randrange(49, 300)
            out_at = at + timedelta(hours=hours, minutes=rng.randrange(60))
            if out_at < HISTORY_NOW:
                consent_rows.append((contact_id, number, ConsentEventKind.OPT_OUT, ConsentSource.STOP_REPLY, "STOP",
                                     "Inbox", _stamp(out_at),
                                     _stamp(out_at + timedelta(seconds=30))))  # fmt: skip
    for n in range(60):
        when = _stamp(HISTORY_NOW - timedelta(hours=7 * n + 1))
        in_rows.append((f"SMreview{n:026x}", "+14152000001", "+14152000001", "+15005550006",
                        "please no more texts", when, when, when, ReplyKind.POSSIBLE_OPT_OUT,
                        ReviewStatus.PENDING))  # fmt: skip
    conn.executemany(
        "INSERT INTO outbound_messages (contact_id, to_e164, body, origin, action_type, actor,"
        " automation_id, automation_name, step_id, step_position, suppression_checked,"
        " suppression_result, recipient_opted_out, status, provider, provider_sid, error_code,"
        " delivery_status, delivery_error_code, sent_at, created_at, updated_at, segments,"
        " encoding, attempts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,'GSM-7',1)",
        out_rows,
    )
    conn.executemany(
        "INSERT INTO inbound_messages (sid, from_number, from_e164, to_number, body, date_sent,"
        " fetched_at, processed_at, classification, review_status)"
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        in_rows,
    )
    conn.executemany(
        "INSERT INTO consent_events (contact_id, phone_e164, kind, source, evidence, actor,"
        " received_at, recorded_at) VALUES (?,?,?,?,?,?,?,?)",
        consent_rows,
    )
    conn.commit()
    conn.close()
    return {"texts": len(out_rows), "replies": len(in_rows), "opt_outs": len(consent_rows)}
