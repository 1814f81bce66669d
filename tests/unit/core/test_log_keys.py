"""The activity log's signing keys and this computer's record of the chain head, kept outside
the database in files only their owner can read."""

from __future__ import annotations

import hashlib
import hmac
import stat

import pytest

from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.log_keys import ChainHeads, KeyRing, Signer, database_key


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_own_key_is_made_once_kept_private_and_named_without_revealing_it(tmp_path):
    folder = tmp_path / "data"
    key = KeyRing(folder).own_key()
    assert KeyRing(folder).own_key() == key  # the next start signs with the same key
    assert (_mode(folder), _mode(folder / "log-keys.json")) == (0o700, 0o600)
    assert len(key.secret) == 32 and len(key.key_id) == 16
    assert key.secret.hex()[:16] != key.key_id  # the id is a fingerprint, not a piece of it


def test_entries_are_signed_with_standard_hmac_sha256():
    secret = b"k" * 32
    message = b"entry 1|opt_out|+14155550101"
    expected = hmac.new(secret, message, hashlib.sha256).hexdigest()
    assert Signer(secret).sign(message) == expected
    assert Signer(b"x" * 32).sign(message) != expected


def test_another_desktop_s_key_is_imported_and_the_own_key_stays_own(tmp_path):
    office = KeyRing(tmp_path / "office")
    laptop = KeyRing(tmp_path / "laptop")
    office_key, laptop_key = office.own_key(), laptop.own_key()
    assert office.export_to(tmp_path / "office-keys.json") == 1
    assert [k.key_id for k in laptop.import_from(tmp_path / "office-keys.json")] == [
        office_key.key_id
    ]
    assert laptop.import_from(tmp_path / "office-keys.json") == []  # twice adds nothing
    assert laptop.get(office_key.key_id) == office_key
    assert KeyRing(tmp_path / "laptop").own_key() == laptop_key


def test_a_file_that_is_not_a_key_file_is_refused_and_changes_nothing(tmp_path):
    ring = KeyRing(tmp_path / "data")
    ring.own_key()
    before = (tmp_path / "data" / "log-keys.json").read_bytes()
    bogus = tmp_path / "notes.json"
    bogus.write_text('{"format": "something else", "keys": {}}', encoding="utf-8")
    with pytest.raises(UserInputError, match="not a TrustPager log key file"):
        ring.import_from(bogus)
    assert (tmp_path / "data" / "log-keys.json").read_bytes() == before


def test_the_chain_head_only_moves_forward_and_names_a_database_without_its_password(tmp_path):
    heads = ChainHeads(tmp_path)
    where = database_key("postgresql+psycopg://office:s3cret@db.local:5432/trustpager")
    assert "s3cret" not in where and where.startswith("postgresql://office:")
    heads.record(where, 10, "a" * 64)
    heads.record(where, 7, "b" * 64)  # an older head read late does not move it back
    assert (heads.get(where).seq, heads.get(where).entry_hash) == (10, "a" * 64)
    heads.record(where, 3, "c" * 64, force=True)  # the user accepted a changed log
    assert heads.get(where).seq == 3
    assert heads.forget(where) and heads.get(where) is None
