"""Build large data sets fast (bulk inserts), for benchmarks and scale tests.

Contacts are inserted with SQLAlchemy Core executemany, not one by one through
``create_contact``, so 100,000 rows take seconds. The rows are the same shape
``create_contact`` writes (search_text included), so queries behave as in use.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert

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
                "sms_opt_out_source": "import" if opted else None,
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
