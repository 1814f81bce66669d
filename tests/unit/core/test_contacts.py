import pytest

from trustpager_desktop.core import contacts
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.store.models import Contact

PEOPLE = [
    ContactInput("Ann", "Lee", "Lee Plumbing", "ann@leeplumbing.com", "(415) 555-0101", "vip"),
    ContactInput("Bob", "Marsh", "Marsh & Co", "bob@marsh.example", "415 555 0102"),
    ContactInput("Carla", "Diaz", "", "carla@example.org", "+44 20 7946 0018"),
    ContactInput("50%", "Off_Sale", "", "", ""),
]


@pytest.fixture
def people(db, clock):
    with db.write() as s:
        for p in PEOPLE:
            contacts.create_contact(s, p, actor="t", clock=clock)
    return db


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("", ["Carla Diaz", "Ann Lee", "Bob Marsh", "50% Off_Sale"]),
        ("ann", ["Ann Lee"]),
        ("LEE plumb", ["Ann Lee"]),
        ("marsh.example", ["Bob Marsh"]),
        ("(415) 555-0101", ["Ann Lee"]),
        ("4155550101", ["Ann Lee"]),
        ("+1 415 555 0101", ["Ann Lee"]),
        ("415 555-01", ["Ann Lee", "Bob Marsh"]),
        ("+44 20 7946", ["Carla Diaz"]),
        ("0101", ["Ann Lee"]),  # any run of digits, as the Phone column shows them
        ("555-0102", ["Bob Marsh"]),
        ("555 01", ["Ann Lee", "Bob Marsh"]),
        ("7946 0018", ["Carla Diaz"]),
        ("0199", []),
        ("%", ["50% Off_Sale"]),
        ("_", ["50% Off_Sale"]),
        ("'; DROP TABLE contacts; --", []),
        ("nobody", []),
    ],
)
def test_search_matches_name_email_company_and_any_phone_format(people, query, names):
    with people.read() as s:
        rows = contacts.search_contacts(s, query)
        assert [r.name for r in rows] == names
        assert contacts.count_contacts(s, query) == len(names)


def test_search_pages_and_sorts_in_the_database(people):
    with people.read() as s:
        first = contacts.search_contacts(s, "", offset=0, limit=2, sort="email")
        second = contacts.search_contacts(s, "", offset=2, limit=2, sort="email")
        desc = contacts.search_contacts(s, "", sort="name", descending=True)
    assert [r.email for r in first + second] == sorted(p.email for p in PEOPLE)
    assert [r.name for r in desc] == ["50% Off_Sale", "Bob Marsh", "Ann Lee", "Carla Diaz"]
    assert first[0].phone_display == ""  # the contact without a phone sorts first by email ""


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (ContactInput(""), "first_name", "First name is required"),
        (ContactInput("   "), "first_name", "First name is required"),
        (ContactInput("A" * 101), "first_name", "too long"),
        (ContactInput("Ann", company="C" * 201), "company", "too long"),
        (ContactInput("Ann", email="not-an-email"), "email", "not an email"),
        (ContactInput("Ann", phone="12"), "phone", "not a valid phone number"),
        (ContactInput("Ann\x00"), "first_name", "control characters"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_nothing_is_saved(db, clock, data, field, message):
    with pytest.raises(UserInputError, match=message) as info, db.write() as s:
        contacts.create_contact(s, data, actor="t", clock=clock)
    assert info.value.field == field
    with db.read() as s:
        assert contacts.count_contacts(s) == 0


def test_edit_keeps_typed_phone_and_updates_search(db, clock):
    with db.write() as s:
        cid = contacts.create_contact(s, PEOPLE[0], actor="t", clock=clock).id
    with db.write() as s:
        contacts.update_contact(
            s, cid, ContactInput("Ann", "Lee-Wong", phone="415.555.0199"), actor="t", clock=clock
        )
    with db.read() as s:
        view = contacts.get_contact(s, cid)
        assert (view.phone_raw, view.phone_e164, view.phone_display) == (
            "415.555.0199",
            "+14155550199",
            "(415) 555-0199",
        )
        assert [r.id for r in contacts.search_contacts(s, "wong")] == [cid]
        assert [r.id for r in contacts.search_contacts(s, "plumb")] == []


def test_names_are_stored_exactly_as_typed(db, clock):
    with db.write() as s:
        cid = contacts.create_contact(
            s, ContactInput("<b>Ann</b>", "😀 עברית"), actor="t", clock=clock
        ).id
    with db.read() as s:
        assert s.get(Contact, cid).display_name == "<b>Ann</b> 😀 עברית"


def test_deleted_contacts_leave_the_search_index(people, clock):
    with people.read() as s:
        (ann,) = contacts.search_contacts(s, "plumbing")
    with people.write() as s:
        contacts.delete_contact(s, ann.id, actor="t", clock=clock)
    with people.read() as s:
        assert contacts.search_contacts(s, "plumbing") == []
        assert contacts.count_contacts(s, "plumbing") == 0


FIRST_NAMES = ["Ann", "Ben", "Carla", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal"]


@pytest.fixture
def crowd(db):
    """200 contacts: every first name is shared by one in ten (a common search word);
    last names are unique, so 'name01' matches ten of them (a rare one)."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    now = datetime(2026, 11, 1, tzinfo=UTC)
    rows = []
    for i in range(200):
        first, last = FIRST_NAMES[i % 10], f"Name{i:03d}"
        email = f"{first}{i}@example.com".lower()
        rows.append(
            {
                "first_name": first,
                "last_name": last,
                "company": "",
                "email": email,
                "phone_raw": "",
                "tags": "",
                "search_text": f"{first} {last}  {email} ".lower(),
                "sms_opted_out": False,
                "created_at": now,
                "updated_at": now,
            }
        )
    with db.write() as s:
        s.execute(insert(Contact), rows)
    return db


@pytest.mark.parametrize("query", ["grace", "name01", "gr name1", "ace 19"])
@pytest.mark.parametrize(
    ("sort", "descending"), [("name", False), ("name", True), ("email", False)]
)
def test_common_and_rare_words_find_the_same_rows_as_a_plain_filter(crowd, query, sort, descending):
    """Common words are answered by walking the sort order, rare ones from the search
    index; either way every matching contact appears once, in order, across pages."""
    with crowd.read() as s:
        everyone = contacts.search_contacts(s, "", limit=1000, sort=sort, descending=descending)
        expected = [
            r.name
            for r in everyone
            if all(w in f"{r.name} {r.email}".lower() for w in query.split())
        ]
        pages = [
            contacts.search_contacts(
                s, query, offset=offset, limit=7, sort=sort, descending=descending
            )
            for offset in range(0, 210, 7)
        ]
        assert [r.name for page in pages for r in page] == expected
        assert contacts.count_contacts(s, query) == len(expected)
    assert expected  # the case is not vacuous


def test_a_capped_count_stops_at_the_cap(crowd):
    with crowd.read() as s:
        assert contacts.count_contacts(s, "grace") == 20
        assert contacts.count_contacts(s, "grace", cap=5) == 5
        assert contacts.count_contacts(s, "gr", cap=5) == 5  # short word: LIKE, capped too
        assert contacts.count_contacts(s, "name01", cap=50) == 10


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Ann\u202etxet", "Anntxet"),  # right-to-left override: would show as "Anntext" reversed
        ("\u2067Bob\u2069 \u200fLee", "Bob Lee"),
        ("Cy\nRay", "Cy Ray"),
        ("Di\r\n\u2028Moss\t ", "Di Moss"),
        ("\ufeffEd\u200b", "Ed"),
        ("Zo\u00eb \u200d", "Zo\u00eb \u200d".strip()),  # a joiner is kept for scripts/emoji
    ],
)
def test_bidi_controls_and_line_breaks_are_stripped_from_names(db, clock, typed, stored):
    with db.write() as s:
        contact = contacts.create_contact(
            s,
            ContactInput(
                typed, last_name="x\u202dy", company="Acme\n\u202eInc", tags="vip,\u202en ew"
            ),
            actor="Test",
            clock=clock,
        )
        assert contact.first_name == stored
        assert (contact.last_name, contact.company, contact.tags) == ("xy", "Acme Inc", "vip,n ew")
        contacts.update_contact(
            s, contact.id, ContactInput("Eve\u202e", company="A\nB"), actor="Test", clock=clock
        )
        assert (contact.first_name, contact.company) == ("Eve", "A B")


def test_the_cli_and_the_import_clean_names_the_same_way(tmp_path, monkeypatch, capsys):
    from trustpager_desktop.cli import main

    monkeypatch.setenv("TRUSTPAGER_DB_URL", f"sqlite:///{tmp_path / 'c.db'}")
    assert main(["contacts", "add", "Ann\u202eeL", "--company", "Acme\u2066"]) == 0
    csv_path = tmp_path / "in.csv"
    csv_path.write_text("name,company\nBob\u202e Ray,Beta\u200f\n", encoding="utf-8")
    assert main(["contacts", "import", str(csv_path)]) == 0
    capsys.readouterr()
    assert main(["contacts", "list"]) == 0
    listed = capsys.readouterr().out
    assert "AnneL" in listed and "Bob Ray" in listed and "\u202e" not in listed
