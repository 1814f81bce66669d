"""Proving the log (core.log_verify): the keyed chain, this computer's head, checkpoints,
the unkeyed prefix, other desktops' keys and the opt-out state rebuilt from consent events.

Every tampering case runs as an attacker with database access would: triggers off
(tests/support/records.tamper), no log key."""

import hashlib
import hmac
import json

import pytest
from sqlalchemy import insert, select, text

from tests.support.contacts import add_contact
from tests.support.records import opt_out, resign_unkeyed, seed_log, tamper
from trustpager_desktop.core import activity, consent, contacts, log_keys, log_verify
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.core.states import ActivityKind, ConsentSource
from trustpager_desktop.store.models import ActivityCheckpoint, ActivityEntry


def _verify(db, clock, **kwargs):
    return log_verify.verify_log(db, clock=clock, **kwargs)


def _stop_from_unknown_number(db, clock, number="+14155550199"):
    with db.write() as s:
        consent.opt_out_number(
            s, number, source=ConsentSource.STOP_REPLY, actor="Inbox", evidence="STOP",
            message_sid="SM" + "1" * 32, clock=clock,
        )  # fmt: skip


def test_signer_is_hmac_sha256():
    secret = b"\x07" * 32
    message = b"prev\x1fkey\x1f1\x1fsummary"
    expected = hmac.new(secret, message, hashlib.sha256).hexdigest()
    assert log_keys.Signer(secret).sign(message) == expected


def test_every_entry_is_signed_with_this_computers_key_kept_outside_the_database(
    db, clock, tmp_path
):
    seed_log(db, clock, 5)
    key = log_keys.key_ring().own_key()
    with db.read() as s:
        rows = s.scalars(select(ActivityEntry).order_by(ActivityEntry.id)).all()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert {r.key_id for r in rows} == {key.key_id}
    first = rows[0]
    message = activity.entry_message({c: getattr(first, c) for c in (
        "prev_hash", "key_id", "seq", "occurred_at", "recorded_at", "kind", "contact_id",
        "contact_name", "automation_id", "actor", "summary", "details")})  # fmt: skip
    assert first.entry_hash == hmac.new(key.secret, message, hashlib.sha256).hexdigest()
    assert log_keys.key_ring().path.stat().st_mode & 0o777 == 0o600
    with db.read() as s:  # the secret is nowhere in the database
        dump = json.dumps([list(r) for r in s.execute(text("SELECT * FROM app_meta")).all()])
    assert key.secret.hex() not in dump and key.to_json()["secret"] not in dump


def test_an_untouched_log_verifies_and_records_its_head(db, clock):
    seed_log(db, clock, 12)
    _stop_from_unknown_number(db, clock)
    report = _verify(db, clock)
    assert report.ok and report.complete, report.describe()
    assert report.entries == 13 and report.checked == 13
    assert "13 entries verified" in report.describe()
    assert "Log head: entry #13" in report.describe()
    with db.read() as s:
        name = activity.database_name(s)
    assert log_keys.chain_heads().get(name).seq == 13


@pytest.mark.parametrize(
    ("attack", "named"),
    [
        pytest.param(
            lambda db: tamper(db, "DELETE FROM activity_log WHERE id > 7"),
            "ends at entry #7, but this computer recorded entry #10",
            id="tail-cut",
        ),
        pytest.param(
            lambda db: tamper(db, "DELETE FROM activity_log"),
            "The activity log is empty, but this computer recorded entry #10",
            id="every-entry-deleted",
        ),
        pytest.param(
            lambda db: tamper(db, "UPDATE activity_log SET summary = 'nothing' WHERE id = 4"),
            "altered at entry 4: its content does not match its signature",
            id="edited",
        ),
        pytest.param(
            lambda db: resign_unkeyed(
                db, 4, "UPDATE activity_log SET summary = 'nothing' WHERE id = 4"
            ),
            "altered at entry 4: it has no signature but comes after signed entries",
            id="edited-and-rehashed-unkeyed",
        ),
        pytest.param(
            lambda db: resign_unkeyed(
                db, 1, "UPDATE activity_log SET summary = 'nothing' WHERE id = 4"
            ),
            "Entry #10 is not the one this computer recorded",
            id="whole-chain-rehashed-unkeyed",
        ),
        pytest.param(
            lambda db: tamper(db, "DELETE FROM activity_log WHERE id = 5"),
            "altered at entry 6: an entry before it is missing or changed",
            id="middle-entry-deleted",
        ),
    ],
)
def test_each_tampering_of_the_log_is_caught_and_named(db, clock, attack, named):
    seed_log(db, clock, 10)
    assert _verify(db, clock).ok
    attack(db)
    report = _verify(db, clock)
    assert not report.ok
    assert named in report.describe(), report.describe()


def test_truncate_is_refused_on_postgres_and_caught_when_forced(db, clock):
    if not db.is_postgres:
        pytest.skip("TRUNCATE is PostgreSQL's")
    ann = add_contact(db, clock, "Ann", phone="415 555 0101")
    opt_out(db, clock, ann)
    for table in ("activity_log", "consent_events"):
        with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {table}"))
    assert _verify(db, clock).ok
    tamper(db, "TRUNCATE activity_log", "TRUNCATE consent_events")
    described = _verify(db, clock).describe()
    assert "The activity log is empty, but this computer recorded entry #2" in described
    assert f"Contact {ann} (Ann) is marked opted out, but no consent event records" in described


def test_a_cleared_opt_out_flag_is_named(db, clock):
    ann = add_contact(db, clock, "Ann", "Lee", phone="415 555 0101")
    opt_out(db, clock, ann)
    assert _verify(db, clock).ok
    tamper(db, f"UPDATE contacts SET sms_opted_out = false WHERE id = {ann}")
    report = _verify(db, clock)
    assert not report.ok
    assert f"Contact {ann} (Ann Lee) is marked subscribed, but consent event 1" in report.describe()


def test_a_deleted_number_suppression_is_named(db, clock):
    _stop_from_unknown_number(db, clock, "+14155550199")
    assert _verify(db, clock).ok
    tamper(db, "DELETE FROM number_suppressions")
    report = _verify(db, clock)
    assert not report.ok
    assert "Number +14155550199 should be held as opted out (consent event 1 (STOP reply" in (
        report.describe()
    )


def test_a_stop_for_a_known_number_and_a_deleted_contact_keep_their_holds(db, clock):
    ann = add_contact(db, clock, "Ann", phone="415 555 0101")
    bob = add_contact(db, clock, "Bob", phone="415 555 0102")
    _stop_from_unknown_number(db, clock, "+14155550101")  # Ann's number: a contact has it
    opt_out(db, clock, bob)
    with db.write() as s:
        contacts.delete_contact(s, bob, actor="Test", clock=clock)
    report = _verify(db, clock)
    assert report.ok, report.describe()
    tamper(db, "DELETE FROM number_suppressions")
    described = _verify(db, clock).describe()
    assert "Number +14155550101 should be held" in described
    assert "Number +14155550102 should be held" in described
    assert f"Contact {ann}" not in described  # her flag is still set


def test_re_consent_is_replayed_so_a_legitimately_subscribed_contact_is_not_flagged(db, clock):
    ann = add_contact(db, clock, "Ann", phone="415 555 0101")
    _stop_from_unknown_number(db, clock, "+14155550101")
    with db.write() as s:
        consent.re_consent_contact(
            s, contacts.get_contact_row(s, ann), method="verbal", note="Called us",
            actor="Test", clock=clock,
        )  # fmt: skip
        contacts.create_contact(s, ContactInput("Cy", phone="415 555 0101"), actor="T", clock=clock)
    report = _verify(db, clock)
    assert report.ok, report.describe()
    assert "Opt-out state matches the consent events" in report.describe()


# --- the unkeyed prefix ---------------------------------------------------------------------


def _legacy_entries(db, clock, n):
    """Entries as a version before keyed signing wrote them (plain SHA-256, no key id)."""
    prev = activity.GENESIS_HASH
    rows = []
    for i in range(n):
        clock.advance(minutes=1)
        row = {
            "occurred_at": clock.now(), "recorded_at": clock.now(), "kind": ActivityKind.OPT_OUT,
            "contact_id": None, "contact_name": "", "automation_id": None, "actor": "Old",
            "summary": f"old entry {i}", "details": "{}", "prev_hash": prev,
        }  # fmt: skip

        class Entry:
            pass

        entry = Entry()
        entry.__dict__.update(row)
        row["entry_hash"] = prev = activity.compute_hash(entry, prev)
        rows.append(row)
    with db.write() as s:
        s.execute(insert(ActivityEntry), rows)


def test_entries_from_before_signing_are_verified_as_the_unkeyed_prefix(db, clock):
    _legacy_entries(db, clock, 6)
    seed_log(db, clock, 4)
    with db.read() as s:
        seqs = s.scalars(select(ActivityEntry.seq).order_by(ActivityEntry.id)).all()
    assert seqs == [None] * 6 + [7, 8, 9, 10]
    report = _verify(db, clock, full=True)
    assert report.ok and report.entries == 10 and report.checked == 10, report.describe()


def test_rehashing_only_the_unkeyed_prefix_breaks_the_first_signed_link(db, clock):
    _legacy_entries(db, clock, 6)
    seed_log(db, clock, 4)
    with db.read() as s:
        legacy = s.scalars(
            select(ActivityEntry).where(ActivityEntry.id <= 6).order_by(ActivityEntry.id)
        ).all()
    prev, statements = activity.GENESIS_HASH, []
    for row in legacy:
        if row.id == 3:
            row.summary = "never happened"
        digest = activity.compute_hash(row, prev)
        statements.append(
            f"UPDATE activity_log SET summary = '{row.summary}', prev_hash = '{prev}', "
            f"entry_hash = '{digest}' WHERE id = {row.id}"
        )
        prev = digest
    tamper(db, *statements)
    report = _verify(db, clock, full=True)
    assert "altered at entry 7: an entry before it is missing or changed" in report.describe()


# --- other desktops' keys -------------------------------------------------------------------


def test_entries_signed_on_another_desktop_need_its_key_then_verify(
    db, clock, tmp_path, monkeypatch
):
    mine_dir = log_keys.data_dir()
    seed_log(db, clock, 3)  # this desktop
    mine = log_keys.key_ring().own_key()
    monkeypatch.setenv("TRUSTPAGER_DATA_DIR", str(tmp_path / "front-desk"))
    seed_log(db, clock, 2)  # another desktop appends to the same database
    other = log_keys.key_ring().own_key()
    log_keys.key_ring().export_to(tmp_path / "front.json")
    monkeypatch.setenv("TRUSTPAGER_DATA_DIR", str(mine_dir))
    assert other.key_id != mine.key_id
    report = _verify(db, clock)
    assert report.ok and not report.complete
    assert report.unchecked[0].key_id == other.key_id and report.unchecked[0].entries == 2
    assert other.label in report.describe() and "import-key" in report.describe()
    new = log_keys.key_ring().import_from(tmp_path / "front.json")
    assert [k.key_id for k in new] == [other.key_id]
    report = _verify(db, clock)
    assert report.complete and report.checked == 5, report.describe()


def test_a_key_file_that_is_not_one_is_refused(tmp_path):
    bad = tmp_path / "k.json"
    bad.write_text('{"format": "something else"}')
    from trustpager_desktop.core.errors import UserInputError

    with pytest.raises(UserInputError, match="not a TrustPager log key file"):
        log_keys.key_ring().import_from(bad)


# --- checkpoints ----------------------------------------------------------------------------


@pytest.fixture
def every_four(monkeypatch):
    monkeypatch.setattr(log_verify, "CHECKPOINT_EVERY", 4)


def test_a_verify_signs_a_checkpoint_and_the_next_starts_there(db, clock, every_four):
    seed_log(db, clock, 10)
    first = _verify(db, clock)
    assert first.ok and first.started_at == 0 and first.checked == 10
    with db.read() as s:
        checkpoints = s.scalars(select(ActivityCheckpoint)).all()
    assert [(c.seq, c.entry_id) for c in checkpoints] == [(8, 8)]
    seed_log(db, clock, 3)
    second = _verify(db, clock)
    assert second.ok and second.started_at == 8 and second.checked == 5
    assert second.entries == 13
    assert "checked the 5 added since the checkpoint at entry #8" in second.describe()


def test_a_change_before_the_checkpoint_is_found_by_a_full_verify(db, clock, every_four):
    seed_log(db, clock, 10)
    assert _verify(db, clock).ok
    tamper(db, "UPDATE activity_log SET summary = 'nothing' WHERE id = 2")
    assert _verify(db, clock).ok  # incremental: starts at entry #8, by design
    full = _verify(db, clock, full=True)
    assert not full.ok and "altered at entry 2" in full.describe()


def test_an_entry_removed_before_the_checkpoint_is_found_even_incrementally(db, clock, every_four):
    seed_log(db, clock, 10)
    assert _verify(db, clock).ok
    tamper(db, "DELETE FROM activity_log WHERE id = 2")
    report = _verify(db, clock)
    assert not report.ok
    assert "1 entries before entry #8 were removed since checkpoint" in report.describe()


def test_a_checkpoint_cannot_be_forged_without_the_key(db, clock, every_four):
    seed_log(db, clock, 10)
    tamper(db, "UPDATE activity_log SET summary = 'nothing' WHERE id = 3")
    with db.read() as s:
        tip = s.execute(
            select(ActivityEntry.id, ActivityEntry.entry_hash).where(ActivityEntry.id == 8)
        ).one()
    key_id = log_keys.key_ring().own_key().key_id
    fake_mac = hmac.new(b"not the key", b"checkpoint", hashlib.sha256).hexdigest()
    with db.write() as s:  # written with the right key id, but without the key
        s.add(ActivityCheckpoint(entry_id=tip.id, seq=8, entry_hash=tip.entry_hash,
                                 key_id=key_id, created_at=clock.now(), mac=fake_mac))  # fmt: skip
    report = _verify(db, clock)
    assert not report.ok
    assert "Checkpoint 1 (at entry #8) is not genuine" in report.describe()
    assert "altered at entry 3" in report.describe()  # it fell back to the whole chain


def test_a_checkpoint_whose_entry_was_changed_is_not_trusted(db, clock, every_four):
    seed_log(db, clock, 10)
    assert _verify(db, clock).ok
    resign_unkeyed(db, 8)
    report = _verify(db, clock)
    assert "Entry #8 (id 8), verified at checkpoint 1, has been changed since." in report.describe()


def test_the_head_is_recorded_only_for_committed_appends(db, clock):
    seed_log(db, clock, 2)
    with db.read() as s:
        name = activity.database_name(s)
    with db.write() as s:
        try:
            with s.begin_nested():
                activity.append(
                    s,
                    activity.LogEntry(kind=ActivityKind.OPT_OUT, summary="rolled back", actor="t"),
                    clock=clock,
                )
                raise RuntimeError
        except RuntimeError:
            pass
    assert log_keys.chain_heads().get(name).seq == 2
    with pytest.raises(RuntimeError), db.write() as s:
        activity.append(
            s,
            activity.LogEntry(kind=ActivityKind.OPT_OUT, summary="rolled back", actor="t"),
            clock=clock,
        )
        raise RuntimeError
    assert log_keys.chain_heads().get(name).seq == 2
    assert _verify(db, clock).ok


@pytest.mark.parametrize(
    "summary", ["plain", 'quote " and \\ backslash', "ünïcödé ✓ 😀", "tab\tnew\nline\x01", ""]
)
def test_the_fast_unkeyed_hash_equals_the_original_one(summary, clock):
    from datetime import UTC, datetime

    class Entry:
        pass

    for micro in (0, 123456):
        entry = Entry()
        entry.__dict__.update(
            occurred_at=datetime(2024, 3, 1, 9, 5, 7, micro, tzinfo=UTC),
            recorded_at=datetime(2024, 3, 1, 9, 5, 8, tzinfo=UTC), kind=ActivityKind.OPT_OUT,
            contact_id=7 if micro else None, contact_name="Zoë \"Z\"", automation_id=None,
            actor="Office", summary=summary, details='{"a":"é\\n"}',
        )  # fmt: skip
        stored = [f"{t:%Y-%m-%d %H:%M:%S.%f}" for t in (entry.occurred_at, entry.recorded_at)]
        row = (1, None, "p", "h", *stored, entry.kind, entry.contact_id, entry.contact_name,
               entry.automation_id, entry.actor, entry.summary, entry.details)  # fmt: skip
        assert log_verify.unkeyed_hash(row, "p" * 64) == activity.compute_hash(entry, "p" * 64)
