"""The activity log's signing keys and this computer's record of the chain head.

Both live OUTSIDE the database, in the user data folder (``TRUSTPAGER_DATA_DIR``
overrides it), in files only their owner can read (0600, folder 0700):

- ``log-keys.json``: this installation's own log key (32 random bytes, made on
  first use) plus keys imported from other desktops. Each log entry names the
  key that signed it (``key_id``, a fingerprint of the secret, safe to show).
- ``chain-heads.json``: per database address, the last chain position and hash
  this computer appended or verified. A log cut short, emptied or rewritten
  behind the application's back no longer reaches that head.

Why one key per installation, named in each entry, and not one key per
database: every desktop must be able to append the moment it opens a shared
PostgreSQL database (a STOP has to be recorded even on a desktop set up five
minutes ago, before anyone copied a key to it). A desktop signs with its own key;
to check entries another desktop signed it needs that desktop's key, copied
once with ``trustpager log key export`` / ``log key import``. Without it those
entries are still bound into the chain (their successors sign their hashes),
and ``log verify`` says plainly which entries it could not check and why.

Why a file and not the OS keyring: the headless agent runs where no keyring
works, and backing the key up is a file copy anyway.
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import hashlib
import json
import logging
import os
import secrets
import socket
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy.engine import URL, make_url

from trustpager_desktop.core.errors import UserInputError

log = logging.getLogger("trustpager.log_keys")

DATA_DIR_ENV = "TRUSTPAGER_DATA_DIR"
APP_DIR_NAME = "TrustPager"
KEYS_FILE = "log-keys.json"
HEADS_FILE = "chain-heads.json"
KEY_BYTES = 32
KEYS_FORMAT = "trustpager-log-keys"
_BLOCK = 64  # SHA-256 block size, for HMAC's inner and outer pads


class LogKeyError(Exception):
    """The key file cannot be created or read; the message is for a person."""


def data_dir() -> Path:
    """``TRUSTPAGER_DATA_DIR`` if set, else the platform user data folder."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False))


def key_fingerprint(secret: bytes) -> str:
    """The key id: 16 hex digits derived from the secret (reveals nothing about it)."""
    return hashlib.sha256(b"trustpager-log-key-id:" + secret).hexdigest()[:16]


class Signer:
    """HMAC-SHA256 with one key, the pads hashed once: about twice as fast per entry
    as ``hmac.new`` (a million entries are signed or checked in one verify)."""

    def __init__(self, secret: bytes) -> None:
        padded = secret.ljust(_BLOCK, b"\0") if len(secret) <= _BLOCK else secret
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def pads(self) -> tuple[Any, Any]:
        """The ``copy`` methods of the hashed inner and outer pads (for a hot loop)."""
        return self._inner.copy, self._outer.copy

    def sign(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


@dataclass(frozen=True)
class LogKey:
    key_id: str
    secret: bytes
    label: str
    created_at: str

    def signer(self) -> Signer:
        return Signer(self.secret)

    def to_json(self) -> dict[str, str]:
        return {
            "secret": base64.b64encode(self.secret).decode("ascii"),
            "label": self.label,
            "created_at": self.created_at,
        }


def _new_key() -> LogKey:
    secret = secrets.token_bytes(KEY_BYTES)
    label = f"{_user()}@{socket.gethostname()}"
    return LogKey(key_fingerprint(secret), secret, label, datetime.now(UTC).isoformat())


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in a bare container: the host name still tells
        return "user"


def _private_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        with contextlib.suppress(OSError):  # a shared folder we do not own: leave it
            folder.chmod(0o700)


def write_private(path: Path, data: dict[str, Any], *, durable: bool = True) -> None:
    """Write JSON to ``path`` owner-only (0600), atomically (a crash leaves the old file).

    ``durable=False`` skips the fsync: for the chain head, written after every commit
    that appended, where losing the last write only leaves an older, still true, head."""
    _private_folder(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp makes it 0600
            json.dump(data, handle, indent=1, sort_keys=True)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LogKeyError(f"The file {path} cannot be read ({exc}).") from exc
    return data if isinstance(data, dict) else None


def _keys_from_json(data: dict[str, Any], source: Path) -> dict[str, LogKey]:
    found: dict[str, LogKey] = {}
    for key_id, item in (data.get("keys") or {}).items():
        try:
            secret = base64.b64decode(item["secret"], validate=True)
        except (KeyError, TypeError, ValueError) as exc:
            raise LogKeyError(f"{source} holds a damaged key ({key_id}).") from exc
        if key_fingerprint(secret) != key_id:
            raise LogKeyError(f"{source}: key {key_id} does not match its secret.")
        found[key_id] = LogKey(
            key_id, secret, str(item.get("label", "")), str(item.get("created_at", ""))
        )
    return found


class KeyRing:
    """The keys in one data folder: this installation's own key and imported ones."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / KEYS_FILE
        self._lock = threading.Lock()
        self._keys: dict[str, LogKey] = {}
        self._own: str | None = None
        self._signers: dict[str, Signer] = {}
        self._loaded_mtime: float | None = None

    def _load(self) -> None:
        data = _read_json(self.path)
        if data is None:
            self._keys, self._own = {}, None
            return
        self._keys = _keys_from_json(data, self.path)
        own = data.get("own")
        self._own = own if own in self._keys else None
        with contextlib.suppress(OSError):
            self._loaded_mtime = self.path.stat().st_mtime

    def _refresh_if_changed(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            return
        if mtime != self._loaded_mtime:
            self._load()

    def own_key(self) -> LogKey:
        """This installation's key, made (and saved, 0600) on first use.

        Two processes starting at once agree on one key: the file is created with a
        hard link, which fails for the second, who then reads the first one's key.
        Raises LogKeyError when the folder cannot be written."""
        with self._lock:
            if self._own is None:
                self._load()
            if self._own is None:
                self._create_own()
            assert self._own is not None
            return self._keys[self._own]

    def _create_own(self) -> None:
        key = _new_key()
        data: dict[str, Any] = {
            "format": KEYS_FORMAT,
            "own": key.key_id,
            "keys": {key.key_id: key.to_json()},
        }
        existing = _read_json(self.path)
        try:
            if existing is not None:  # imported keys but no own key yet: keep them
                data["keys"] = {**existing.get("keys", {}), **data["keys"]}
                write_private(self.path, data)
            else:
                self._link_new_file(data)
        except OSError as exc:
            raise LogKeyError(
                f"Cannot save the activity log key in {self.path.parent}: {exc.strerror or exc}. "
                "The log cannot be signed until that folder is writable."
            ) from exc
        self._load()

    def _link_new_file(self, data: dict[str, Any]) -> None:
        _private_folder(self.path.parent)
        fd, tmp = tempfile.mkstemp(prefix=".log-keys-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process won: use its key
                os.link(tmp, self.path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def get(self, key_id: str) -> LogKey | None:
        """The key with this id, or None; re-reads the file if another process changed it."""
        with self._lock:
            if key_id not in self._keys:
                self._refresh_if_changed()
            return self._keys.get(key_id)

    def signer(self, key_id: str) -> Signer | None:
        cached = self._signers.get(key_id)
        if cached is not None:
            return cached
        key = self.get(key_id)
        if key is None:
            return None
        return self._signers.setdefault(key_id, key.signer())

    def all_keys(self) -> list[LogKey]:
        with self._lock:
            self._refresh_if_changed()
            return sorted(self._keys.values(), key=lambda k: k.created_at)

    def export_to(self, target: str | os.PathLike[str]) -> int:
        """Write every key this computer holds to ``target`` (0600). Returns the count."""
        self.own_key()
        keys = self.all_keys()
        write_private(
            Path(target),
            {"format": KEYS_FORMAT, "keys": {k.key_id: k.to_json() for k in keys}},
        )
        return len(keys)

    def import_from(self, source: str | os.PathLike[str]) -> list[LogKey]:
        """Add the keys in an exported file; this installation's own key stays its own.
        Returns the keys that were new. Raises UserInputError for a file that is not one."""
        try:
            data = _read_json(Path(source))
            if data is None or data.get("format") != KEYS_FORMAT:
                raise UserInputError(f"{source} is not a TrustPager log key file.")
            incoming = _keys_from_json(data, Path(source))
        except LogKeyError as exc:
            raise UserInputError(str(exc)) from exc
        with self._lock:
            self._load()
            new = [k for k_id, k in incoming.items() if k_id not in self._keys]
            if new:
                stored = _read_json(self.path) or {"format": KEYS_FORMAT}
                stored["keys"] = {**stored.get("keys", {}), **{k.key_id: k.to_json() for k in new}}
                write_private(self.path, stored)
                self._load()
        return new


_rings: dict[Path, KeyRing] = {}
_rings_lock = threading.Lock()


def key_ring(folder: Path | None = None) -> KeyRing:
    """The key ring of ``folder`` (default: :func:`data_dir`), one object per folder."""
    folder = folder or data_dir()
    with _rings_lock:
        ring = _rings.get(folder)
        if ring is None:
            ring = _rings[folder] = KeyRing(folder)
        return ring


# --- the chain head this computer saw ---------------------------------------------------


@dataclass(frozen=True)
class ChainHead:
    """The newest entry this computer appended or verified in one database's log."""

    seq: int
    entry_hash: str
    recorded_at: str

    def describe(self) -> str:
        return f"entry #{self.seq:,}, hash {self.entry_hash[:16]}…"


class ChainHeads:
    """``chain-heads.json``: database address -> the head this computer last saw there.

    A head only moves forward. Two processes racing may leave the older of their two
    heads; either is a true statement about the log, so nothing is lost but reach."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / HEADS_FILE
        self._lock = threading.Lock()

    def get(self, database: str) -> ChainHead | None:
        try:
            data = _read_json(self.path) or {}
        except LogKeyError:
            return None
        item = data.get(database)
        if not isinstance(item, dict):
            return None
        try:
            return ChainHead(int(item["seq"]), str(item["hash"]), str(item.get("at", "")))
        except (KeyError, TypeError, ValueError):
            return None

    def record(self, database: str, seq: int, entry_hash: str, *, force: bool = False) -> None:
        """Remember ``seq``/``entry_hash`` for ``database`` unless a later head is stored
        (``force``: replace whatever is stored, after the user accepted a changed log)."""
        with self._lock:
            try:
                data = _read_json(self.path) or {}
            except LogKeyError:
                data = {}
            current = data.get(database)
            if not force and isinstance(current, dict) and int(current.get("seq", 0)) >= seq:
                return
            data[database] = {"seq": seq, "hash": entry_hash, "at": datetime.now(UTC).isoformat()}
            try:
                write_private(self.path, data, durable=False)
            except OSError as exc:  # extra evidence: failing to save it must not stop the work
                log.warning("Cannot save the log head in %s: %s", self.path, exc)

    def forget(self, database: str) -> bool:
        with self._lock:
            data = _read_json(self.path) or {}
            if data.pop(database, None) is None:
                return False
            write_private(self.path, data)
            return True


def chain_heads(folder: Path | None = None) -> ChainHeads:
    return ChainHeads(folder or data_dir())


def database_key(url: str | URL) -> str:
    """How a database is named in ``chain-heads.json``: an SQLite file by its full path,
    a server database by its address without the password."""
    parsed = make_url(url) if isinstance(url, str) else url
    database = parsed.database or ""
    if parsed.drivername.startswith("sqlite") and database and database != ":memory:":
        path = (
            database[len("file:") :].split("?", 1)[0] if database.startswith("file:") else database
        )
        return f"sqlite:{Path(path).resolve()}"
    return parsed.set(drivername=parsed.get_backend_name()).render_as_string(hide_password=True)
