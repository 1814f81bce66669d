"""Proving the activity log: the keyed chain, checkpoints, this computer's head, opt-outs.

``verify_log(db)`` answers "has anything been changed behind the application's
back?" and names each thing it finds:

1. The chain. Each signed entry's HMAC (``core.activity``) is recomputed with the
   key that signed it; its ``prev_hash`` must be the entry before it and its
   ``seq`` its position. Entries from before keyed signing are checked with their
   unkeyed SHA-256, and may only come first (an unsigned entry after a signed one
   was rewritten). Entries signed by a key this computer does not hold are still
   linked into the chain but their content cannot be checked here: the report
   counts them and says whose key is missing.
2. Checkpoints. After a clean check, the verifier signs a checkpoint at the last
   multiple of CHECKPOINT_EVERY it reached. The next verify starts at the newest
   checkpoint whose signature holds, after checking the entry it vouches for is
   unchanged and no entry before it is missing (one count). ``full=True`` re-reads
   everything (a change to an entry before the checkpoint is found only then).
3. This computer's head (``core.log_keys``): the newest entry it appended or
   verified must still be there, with the same hash. A cut tail, an emptied table
   or a re-signed chain no longer reaches it.
4. Opt-outs (``core.optout_audit``): today's state rebuilt from the consent events
   must match the contacts' flags and the number suppressions.

Speed: the database joins each signed entry's fields into the signed message
(SQLite ``||``, PostgreSQL ``concat_ws``), so Python does one HMAC per entry and no
datetime or JSON work; a million entries take a few seconds.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity, log_keys, optout_audit
from trustpager_desktop.core.activity import GENESIS_HASH, SEPARATOR, time_text
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.log_keys import ChainHead, KeyRing
from trustpager_desktop.core.progress import Progress
from trustpager_desktop.core.progress import report as report_progress
from trustpager_desktop.store.database import Database, DatabaseError, explain_error
from trustpager_desktop.store.models import ActivityCheckpoint, ActivityEntry, Meta

log = logging.getLogger("trustpager.log_verify")

CHECKPOINT_EVERY = 10_000
BATCH = 20_000
_SQLITE_MESSAGE = " || char(31) || ".join(
    [
        "prev_hash", "key_id", "seq", "occurred_at", "recorded_at", "kind",
        "ifnull(contact_id, '')", "contact_name", "ifnull(automation_id, '')",
        "actor", "summary", "details",
    ]
)  # fmt: skip
_PG_TIME = "'YYYY-MM-DD HH24:MI:SS.US'"
_PG_MESSAGE = "concat_ws(chr(31), " + ", ".join(
    [
        "prev_hash", "key_id", "seq::text", f"to_char(occurred_at, {_PG_TIME})",
        f"to_char(recorded_at, {_PG_TIME})", "kind", "coalesce(contact_id::text, '')",
        "contact_name", "coalesce(automation_id::text, '')", "actor", "summary", "details",
    ]
) + ")"  # fmt: skip
_LEGACY_COLUMNS = (
    "prev_hash, entry_hash, occurred_at, recorded_at, kind, contact_id, contact_name, "
    "automation_id, actor, summary, details"
)


# --- the report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UncheckedKey:
    key_id: str
    label: str
    entries: int


@dataclass
class WalkResult:
    """What walking (part of) the chain found."""

    position: int  # entries in the log up to the last one read
    checked: int  # entries whose hash or signature was recomputed
    tip_hash: str
    first_broken_id: int | None = None
    problem: str = ""
    unchecked: dict[str, int] = field(default_factory=dict)  # key id -> entries
    checkpoint: tuple[int, int, str] | None = None  # (entry id, seq, hash) to sign


@dataclass(frozen=True)
class LogReport:
    """The result of :func:`verify_log`. ``problems`` each name one thing found wrong."""

    entries: int
    checked: int
    started_at: int  # 0 for a full check, else the checkpoint's position
    problems: tuple[str, ...]
    notes: tuple[str, ...]
    unchecked: tuple[UncheckedKey, ...]
    first_broken_id: int | None
    tip: ChainHead | None
    optouts: optout_audit.AuditResult | None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def complete(self) -> bool:
        """Intact and every entry checked (no entries signed by a key missing here)."""
        return self.ok and not self.unchecked

    @property
    def log_problems(self) -> list[str]:
        """What is wrong with the log itself (chain, checkpoints, this computer's head)."""
        mismatches = set(self.optouts.mismatches if self.optouts else ())
        return [p for p in self.problems if p not in mismatches]

    def headline(self) -> str:
        log_problems = self.log_problems
        if log_problems:
            return log_problems[0]
        if not self.ok:
            count = len(self.problems)
            return (
                f"The activity log's entries are intact, but the opt-out state disagrees with "
                f"the consent events in {count} place{'s' if count != 1 else ''}:"
            )
        if self.started_at:
            return (
                f"The activity log is intact: {self.entries:,} entries; checked the "
                f"{self.checked:,} added since the checkpoint at entry #{self.started_at:,} "
                "(a full check re-reads them all)."
            )
        if self.checked < self.entries:
            return (
                f"The activity log is intact as far as this computer can check: "
                f"{self.checked:,} of {self.entries:,} entries verified."
            )
        return f"The activity log is intact: {self.entries:,} entries verified."

    def describe(self) -> str:
        """Every finding, one line each: the headline, the other problems, then notes."""
        log_problems = self.log_problems
        mismatches = self.optouts.mismatches if self.optouts else []
        lines = [self.headline(), *log_problems[1:]]
        if log_problems and mismatches:
            lines.append("The opt-out state also disagrees with the consent events:")
        lines += mismatches
        lines += [_unchecked_line(u) for u in self.unchecked]
        if self.optouts is not None and not self.optouts.mismatches and self.ok:
            lines.append(self.optouts.describe())
        lines += list(self.notes)
        if self.tip is not None:
            lines.append(f"Log head: {self.tip.describe()}")
        return "\n".join(lines)


def _unchecked_line(u: UncheckedKey) -> str:
    who = f" ({u.label})" if u.label else ""
    return (
        f"{u.entries:,} entries signed with key {u.key_id}{who} could not be checked on this "
        "computer: import that key with `trustpager log import-key FILE`."
    )


# --- walking the chain --------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """Where a walk begins: before the first entry, or at a verified checkpoint."""

    after_id: int = 0
    position: int = 0
    prev_hash: str = GENESIS_HASH
    signed: bool = False  # whether a signed entry is at or before the start


FROM_THE_BEGINNING = Start()


class _Rows:
    """The walk's two queries on the plain DB-API connection of the session's transaction:
    SQLAlchemy's row objects cost a third of the time of a million-entry verify."""

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        postgres = connection.dialect.name == "postgresql"
        self._raw = connection.connection.dbapi_connection
        self._driver_error = connection.dialect.loaded_dbapi.Error
        self._url = connection.engine.url.render_as_string(hide_password=False)
        mark = "%s" if postgres else "?"
        message = _PG_MESSAGE if postgres else _SQLITE_MESSAGE
        tail = f"FROM activity_log WHERE id > {mark} ORDER BY id LIMIT {mark}"
        self.signed = f"SELECT id, entry_hash, key_id, seq, {message} {tail}"
        self.unkeyed = f"SELECT id, key_id, {_LEGACY_COLUMNS} {tail}"

    def fetch(self, sql: str, after: int, limit: int) -> list[tuple[Any, ...]]:
        """Up to ``limit`` rows after id ``after``. Raises DatabaseError (one sentence) when
        the driver cannot read them, e.g. damaged pages of an SQLite file."""
        cursor = self._raw.cursor()  # type: ignore[union-attr]  # the DBAPI connection is open while reading
        try:
            cursor.execute(sql, (after, limit))
            return list(cursor.fetchall())
        except self._driver_error as exc:
            raise DatabaseError(explain_error(exc, self._url)) from exc
        finally:
            cursor.close()


def walk_chain(
    session: Session,
    start: Start = FROM_THE_BEGINNING,
    *,
    ring: KeyRing | None = None,
    batch_size: int = BATCH,
    progress: Progress | None = None,
) -> WalkResult:
    """Check every entry after ``start`` in id order; stop at the first broken one.

    Unsigned entries are read first, as long as they last (the unkeyed prefix); from the
    first signed entry on, every entry must be signed. ``progress(done, total)`` hears
    after each batch; returning False stops the walk with ``Cancelled``."""
    ring = ring or log_keys.key_ring()
    result = WalkResult(position=start.position, checked=0, tip_hash=start.prev_hash)
    rows = _Rows(session)
    after = start.after_id
    tell = _progress_teller(session, start, result, progress)
    if not start.signed:
        resumed = _walk_unkeyed_prefix(rows, result, after, batch_size, tell)
        if resumed is None:
            return result
        after = resumed
    while not result.problem:
        tell()
        batch = rows.fetch(rows.signed, after, batch_size)
        if not batch:
            break
        _walk_signed(batch, result, ring)
        after = batch[-1][0]
    return result


def _progress_teller(
    session: Session, start: Start, result: WalkResult, progress: Progress | None
) -> Callable[[], None]:
    if progress is None:
        return lambda: None
    total = session.scalar(
        select(func.count()).select_from(ActivityEntry).where(ActivityEntry.id > start.after_id)
    )
    return lambda: report_progress(progress, result.position - start.position, total)


def _walk_unkeyed_prefix(
    rows: _Rows, result: WalkResult, after: int, batch_size: int, tell: Callable[[], None]
) -> int | None:
    """Check unsigned entries up to the first signed one; returns the id to continue after,
    or None when the walk is over (the log ended, or an entry is broken)."""
    prev, position = result.tip_hash, result.position
    while True:
        result.position = position
        tell()
        batch = rows.fetch(rows.unkeyed, after, batch_size)
        if not batch:
            result.tip_hash, result.position = prev, position
            return None
        for row in batch:
            if row[1] is not None:  # the first signed entry: the signed walk takes over
                result.tip_hash, result.position = prev, position
                return after
            position += 1
            problem = _unkeyed_problem(row, prev)
            if problem:
                _broken(result, row[0], position, result.checked, prev, problem)
                return None
            prev, after = row[3], row[0]
            result.checked += 1
            if position % CHECKPOINT_EVERY == 0:
                result.checkpoint = (row[0], position, prev)


def _walk_signed(batch: Sequence[tuple[Any, ...]], result: WalkResult, ring: KeyRing) -> None:
    prev, position, checked = result.tip_hash, result.position, result.checked
    pads: dict[str, Any] = {}
    clean_so_far = not result.unchecked
    for entry_id, entry_hash, key_id, seq, message in batch:
        position += 1
        if key_id is None:
            _broken(result, entry_id, position, checked, prev, _UNSIGNED)
            return
        if message is None or not message.startswith(prev):
            _broken(result, entry_id, position, checked, prev, _MISSING)
            return
        if key_id not in pads:
            signer = ring.signer(key_id)
            pads[key_id] = signer.pads() if signer is not None else None
        key_pads = pads[key_id]
        if key_pads is None:
            result.unchecked[key_id] = result.unchecked.get(key_id, 0) + 1
            clean_so_far = False
        else:  # HMAC-SHA256 inline (Signer.sign): a million calls add up
            inner = key_pads[0]()
            inner.update(message.encode("utf-8"))
            outer = key_pads[1]()
            outer.update(inner.digest())
            if outer.hexdigest() != entry_hash:
                _broken(result, entry_id, position, checked, prev, _ALTERED)
                return
            checked += 1
        if seq != position:
            _broken(result, entry_id, position, checked, prev,
                    f"it says it is entry #{seq} but it is #{position}: "
                    "entries before it were removed")  # fmt: skip
            return
        prev = entry_hash
        if clean_so_far and position % CHECKPOINT_EVERY == 0:
            result.checkpoint = (entry_id, position, entry_hash)
    result.tip_hash, result.position, result.checked = prev, position, checked


_MISSING = "an entry before it is missing or changed"
_ALTERED = "its content does not match its signature"
_UNSIGNED = "it has no signature but comes after signed entries (it was rewritten or slipped in)"


def _broken(
    result: WalkResult, entry_id: int, position: int, checked: int, prev: str, problem: str
) -> None:
    result.first_broken_id, result.problem = entry_id, problem
    result.position, result.checked, result.tip_hash = position, checked, prev


# An unsigned entry's hash: SHA-256 of the previous hash and its canonical JSON, which
# activity.compute_hash builds with json.dumps(sort_keys=True). Built here by hand from
# the plain row, in the same key order and with the encoder json.dumps uses for
# ensure_ascii=False, because a dict, a json.dumps and two datetimes per entry made the
# unkeyed prefix several times slower to check than the signed part.
_json_text = json.encoder.encode_basestring


def _json_id(value: int | None) -> str:
    return "null" if value is None else str(value)


def _iso_utc(value: datetime | str) -> str:
    """A stored time as ``datetime.isoformat()`` writes it aware (UTC, micros only if any)."""
    if isinstance(value, str) and len(value) == 26 and value[19] == ".":
        micros = value[20:]
        fraction = "" if micros == "000000" else "." + micros
        return f"{value[:10]}T{value[11:19]}{fraction}+00:00"
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC).isoformat()


def unkeyed_hash(row: tuple[Any, ...], prev: str) -> str:
    """``activity.compute_hash`` of a plain row from the unkeyed query."""
    (_id, _key, _prev, _hash, occurred, recorded, kind, contact_id, contact_name,
     automation_id, actor, summary, details) = row  # fmt: skip
    content = (
        f'{{"actor":{_json_text(actor)},"automation_id":{_json_id(automation_id)},'
        f'"contact_id":{_json_id(contact_id)},"contact_name":{_json_text(contact_name)},'
        f'"details":{_json_text(details)},"kind":{_json_text(kind)},'
        f'"occurred_at":"{_iso_utc(occurred)}","recorded_at":"{_iso_utc(recorded)}",'
        f'"summary":{_json_text(summary)}}}'
    )
    return hashlib.sha256((prev + content).encode("utf-8")).hexdigest()


def _unkeyed_problem(row: tuple[Any, ...], prev: str) -> str:
    if row[2] != prev:
        return _MISSING
    if unkeyed_hash(row, prev) != row[3]:
        return "its content does not match its hash"
    return ""


@dataclass(frozen=True)
class ChainReport:
    """The chain alone (``activity.verify_chain``): intact, or where it first breaks."""

    ok: bool
    checked: int
    first_broken_id: int | None = None
    problem: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"The activity log is intact: {self.checked} entries verified."
        return f"The activity log has been altered at entry {self.first_broken_id}: {self.problem}"


def chain_report(
    session: Session, *, batch_size: int = BATCH, progress: Progress | None = None
) -> ChainReport:
    """Walk the whole chain; entries signed by keys missing here count as not checked."""
    walk = walk_chain(session, batch_size=batch_size, progress=progress)
    if walk.problem:
        return ChainReport(False, walk.checked, walk.first_broken_id, walk.problem)
    return ChainReport(True, walk.checked)


# --- checkpoints --------------------------------------------------------------------------


def checkpoint_message(
    entry_id: int, seq: int, entry_hash: str, key_id: str, at: datetime
) -> bytes:
    parts = ("checkpoint", str(entry_id), str(seq), entry_hash, key_id, time_text(at))
    return SEPARATOR.join(parts).encode("utf-8")


@dataclass
class _StartChoice:
    start: Start
    problems: list[str]
    made_at: datetime | None = None


def choose_start(session: Session, ring: KeyRing) -> _StartChoice:
    """The newest checkpoint that is genuine and still matches the log; or the beginning.

    A checkpoint whose signature fails, or whose entry is gone or changed, or with
    entries missing before it, is a problem to report (and is not used)."""
    problems: list[str] = []
    checkpoints = session.scalars(
        select(ActivityCheckpoint).order_by(ActivityCheckpoint.seq.desc()).limit(50)
    )
    for cp in checkpoints:
        signer = ring.signer(cp.key_id)
        if signer is None:
            continue  # another desktop's: cannot be checked here, so not trusted
        mac = signer.sign(checkpoint_message(cp.entry_id, cp.seq, cp.entry_hash, cp.key_id,
                                             cp.created_at))  # fmt: skip
        if mac != cp.mac:
            problems.append(
                f"Checkpoint {cp.id} (at entry #{cp.seq:,}) is not genuine: its signature "
                "does not match, so it was written or changed without the log key."
            )
            continue
        problem = _checkpoint_anchor_problem(session, cp)
        if problem:
            problems.append(problem)
            return _StartChoice(FROM_THE_BEGINNING, problems)
        start = Start(cp.entry_id, cp.seq, cp.entry_hash, signed=_is_signed(session, cp.entry_id))
        return _StartChoice(start, problems, cp.created_at)
    return _StartChoice(FROM_THE_BEGINNING, problems)


def _checkpoint_anchor_problem(session: Session, cp: ActivityCheckpoint) -> str:
    stored = session.scalar(select(ActivityEntry.entry_hash).where(ActivityEntry.id == cp.entry_id))
    if stored != cp.entry_hash:
        return f"Entry #{cp.seq:,} (id {cp.entry_id}), verified at checkpoint {cp.id}, " + (
            "is missing." if stored is None else "has been changed since."
        )
    count = session.scalar(
        select(func.count()).select_from(ActivityEntry).where(ActivityEntry.id <= cp.entry_id)
    )
    if count != cp.seq:
        change = "removed" if (count or 0) < cp.seq else "added"
        return (
            f"{abs(cp.seq - (count or 0)):,} entries before entry #{cp.seq:,} were {change} "
            f"since checkpoint {cp.id} verified it."
        )
    return ""


def _is_signed(session: Session, entry_id: int) -> bool:
    return (
        session.scalar(select(ActivityEntry.key_id).where(ActivityEntry.id == entry_id)) is not None
    )


def save_checkpoint(
    session: Session, point: tuple[int, int, str], ring: KeyRing, clock: Clock
) -> bool:
    """Sign and store a checkpoint at ``point`` (entry id, seq, hash) unless this key has one
    there already. Returns whether one was written."""
    key = ring.own_key()
    entry_id, seq, entry_hash = point
    exists = session.scalar(
        select(ActivityCheckpoint.id).where(
            ActivityCheckpoint.seq == seq, ActivityCheckpoint.key_id == key.key_id
        )
    )
    if exists is not None:
        return False
    now = clock.now()
    mac = ring.signer(key.key_id).sign(  # type: ignore[union-attr]  # our own key always has a signer
        checkpoint_message(entry_id, seq, entry_hash, key.key_id, now)
    )
    session.add(ActivityCheckpoint(entry_id=entry_id, seq=seq, entry_hash=entry_hash,
                                   key_id=key.key_id, created_at=now, mac=mac))  # fmt: skip
    return True


# --- this computer's head -------------------------------------------------------------------


def head_problem(session: Session, head: ChainHead | None, entries: int) -> str:
    """Compare the log with the head this computer recorded; a sentence if it no longer holds."""
    if head is None or head.seq == 0:
        return ""
    when = f" on {head.recorded_at[:10]}" if head.recorded_at else ""
    if entries < head.seq:
        if entries == 0:
            return (
                f"The activity log is empty, but this computer recorded {head.describe()}{when}: "
                "every entry was removed."
            )
        return (
            f"The activity log ends at entry #{entries:,}, but this computer recorded "
            f"{head.describe()}{when}: {head.seq - entries:,} entries were cut from the end."
        )
    found = session.execute(
        select(ActivityEntry.id, ActivityEntry.seq).where(
            ActivityEntry.entry_hash == head.entry_hash
        )
    ).first()
    position = found.seq if found is not None else None
    if found is not None and position is None:  # an unkeyed entry: its position is its count
        position = session.scalar(
            select(func.count()).select_from(ActivityEntry).where(ActivityEntry.id <= found.id)
        )
    if position != head.seq:
        return (
            f"Entry #{head.seq:,} is not the one this computer recorded{when} (hash "
            f"{head.entry_hash[:16]}…): the log was rewritten from that point or before."
        )
    return ""


def chain_tip(session: Session) -> ChainHead | None:
    """The newest entry's position and hash as stored (printed on exports and reports)."""
    row = session.execute(
        select(ActivityEntry.id, ActivityEntry.seq, ActivityEntry.entry_hash)
        .order_by(ActivityEntry.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    seq = row.seq
    if seq is None:
        seq = session.scalar(select(func.count()).select_from(ActivityEntry))
    return ChainHead(int(seq or 0), row.entry_hash, "")


def describe_tip(session: Session) -> str:
    """'Log head: entry #1,234, hash 3fa2…' (or that the log is empty), for exports."""
    tip = chain_tip(session)
    return f"Log head: {tip.describe()}" if tip else "Log head: the log is empty"


# --- the whole check ----------------------------------------------------------------------


def verify_log(
    db: Database,
    *,
    full: bool = False,
    clock: Clock = SYSTEM_CLOCK,
    ring: KeyRing | None = None,
    read_only: bool = False,
    progress: Progress | None = None,
) -> LogReport:
    """Check the log (from the newest good checkpoint, or everything when ``full``), this
    computer's head and the opt-out state; on a clean result, move the head forward and
    sign a checkpoint (not when ``read_only`` or the database refuses writes).
    ``progress(done, total)`` follows the walk; returning False raises ``Cancelled``.

    Raises DatabaseError (or SQLAlchemy errors) when the database cannot be read."""
    ring = ring or log_keys.key_ring()
    heads = log_keys.chain_heads()
    with db.read() as session:
        database = activity.database_name(session)
        choice = _StartChoice(FROM_THE_BEGINNING, []) if full else choose_start(session, ring)
        walk = walk_chain(session, choice.start, ring=ring, progress=progress)
        problems = list(_walk_problems(walk))
        if not walk.problem:  # the head can only be compared with a whole chain
            problems += [
                p for p in [head_problem(session, heads.get(database), walk.position)] if p
            ]
        problems += choice.problems
        audit = optout_audit.audit(session)
        problems += audit.mismatches
        unchecked = _unchecked_keys(session, walk.unchecked)
        tip = chain_tip(session)
    notes: list[str] = []
    if not problems:
        if walk.position:
            heads.record(database, walk.position, walk.tip_hash)
        notes += _save_checkpoint(db, walk, choice.start, ring, clock, read_only)
    if heads.get(database) is None and walk.position == 0:
        notes.append("The log is empty and this computer has no earlier record of it.")
    return LogReport(
        entries=walk.position,
        checked=walk.checked,
        started_at=choice.start.position,
        problems=tuple(problems),
        notes=tuple(notes),
        unchecked=tuple(unchecked),
        first_broken_id=walk.first_broken_id,
        tip=tip,
        optouts=audit,
    )


def _walk_problems(walk: WalkResult) -> Iterable[str]:
    if walk.problem:
        yield f"The activity log has been altered at entry {walk.first_broken_id}: {walk.problem}."


def _unchecked_keys(session: Session, counts: dict[str, int]) -> list[UncheckedKey]:
    if not counts:
        return []
    rows = session.execute(
        select(Meta.key, Meta.value).where(
            Meta.key.in_([activity.KEY_META_PREFIX + k for k in counts])
        )
    )
    labels = {key: value for key, value in rows}
    return [
        UncheckedKey(k, labels.get(activity.KEY_META_PREFIX + k, ""), n) for k, n in counts.items()
    ]


def _save_checkpoint(
    db: Database, walk: WalkResult, start: Start, ring: KeyRing, clock: Clock, read_only: bool
) -> list[str]:
    if walk.checkpoint is None or walk.checkpoint[1] <= start.position:
        return []
    if read_only:
        return ["No checkpoint saved: the database is open read-only."]
    try:
        with db.write() as session:
            save_checkpoint(session, walk.checkpoint, ring, clock)
    except (DatabaseError, SQLAlchemyError) as exc:
        log.warning("checkpoint not saved: %s", exc)
        return ["No checkpoint saved: the database refused the write."]
    return []
