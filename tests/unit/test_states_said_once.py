"""A state is named through its enum in ``core/states.py``, never as a string literal.

Issue 17: activity kinds, consent sources, message, queue and review statuses are
StrEnums defined once. A literal such as ``"in_flight"`` still compares equal to the
member, so nothing else would notice it creep back; this test reads every Python file of
the package, the tests and the benchmarks with ``ast`` and fails naming ``file:line``.

Which values are checked: those with an underscore (``in_flight``, ``stop_reply``,
``manual_toggle``, ``not_opt_out``...). They are identifiers, not English, so a string
constant equal to one is a state. One-word values (``sent``, ``pending``, ``held``,
``delivered``, ``import``, ``review``...) are left out: they are also Twilio's own wire
statuses (the fake server and the providers speak them), CLI words, page keys and
summary keys, and a scan for them would mostly find those.

Underscore values left out, each also another vocabulary:
- ``start_reply``: also a re-consent *method* (``consent.RECONSENT_METHODS``).
- ``opt_out_confirmation``: also an outbound ``action_type``.
- ``opted_out``: also ``consent.ConsentStatus.OPTED_OUT``, an import summary key and a
  column-header spelling in other CRMs' spreadsheets.

Where a checked value is looked at: comparisons, dict keys and values, call arguments,
assignments, defaults and returns, including inside tuples, lists and sets there.
Docstrings and f-string pieces are not. Not scanned: the Alembic migrations (they keep
the values as they were stored) and enum definitions themselves (a class whose base
ends in ``Enum``). Also not checked: the first argument of ``KindChoice(...)``, a key of
the Activity viewer's Kind filter (``"stop_reply"`` there picks opt-outs by source).

A line that needs the bare value (a test that checks what is stored, a word a customer
types) says so with ``# not a state: <why>``, on that line or a comment line above it. This file is not scanned: it plants literals.
"""

from __future__ import annotations

import ast
import enum
import inspect
from pathlib import Path

from trustpager_desktop.core import replies, states

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("trustpager_desktop", "tests", "benchmarks")
MIGRATIONS = ROOT / "trustpager_desktop" / "store" / "migrations"
MARKER = "# not a state:"
ALSO_ANOTHER_VOCABULARY = {"start_reply", "opt_out_confirmation", "opted_out"}
FILTER_KEY_CALLS = {"KindChoice"}
# Expressions whose string constants are values used by the code (not docstrings).
VALUE_HOLDERS = (
    ast.Compare,
    ast.Dict,
    ast.Call,
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
    ast.Return,
    ast.arguments,
)


def _all_enums() -> list[type[enum.StrEnum]]:
    found = [cls for _, cls in inspect.getmembers(states, inspect.isclass)]
    return [c for c in found if issubclass(c, enum.StrEnum)] + [replies.ReplyKind]


def distinctive_values() -> dict[str, str]:
    """Each checked value -> the members that spell it (for the failure message)."""
    values: dict[str, list[str]] = {}
    for enum_class in _all_enums():
        for member in enum_class:
            if "_" in member.value and member.value not in ALSO_ANOTHER_VOCABULARY:
                values.setdefault(member.value, []).append(f"{enum_class.__name__}.{member.name}")
    return {value: " or ".join(names) for value, names in values.items()}


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """Constants that are not state uses: enum bodies, f-string pieces, filter keys."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        is_enum = isinstance(node, ast.ClassDef) and any(
            ast.unparse(base).endswith("Enum") for base in node.bases
        )
        is_filter_key = (
            isinstance(node, ast.Call)
            and ast.unparse(node.func).split(".")[-1] in FILTER_KEY_CALLS
            and node.args
        )
        if is_enum or isinstance(node, ast.JoinedStr):
            skipped.update(id(inner) for inner in ast.walk(node))
        elif is_filter_key:
            skipped.add(id(node.args[0]))  # type: ignore[union-attr]
    return skipped


def _marked(lines: list[str], lineno: int) -> bool:
    """The marker on the constant's line, or on a comment line just above it."""
    above = lines[lineno - 2].strip() if lineno > 1 else ""
    return MARKER in lines[lineno - 1] or (above.startswith("#") and MARKER in above)


def literal_states(path: Path, source: str, values: dict[str, str]) -> list[str]:
    """``file:line: 'value' (use Enum.MEMBER)`` for each state written as a literal."""
    tree = ast.parse(source)
    lines = source.splitlines()
    skipped = _skipped_nodes(tree)
    found: dict[int, str] = {}
    for holder in ast.walk(tree):
        if not isinstance(holder, VALUE_HOLDERS):
            continue
        for node in ast.walk(holder):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value in values
                and id(node) not in skipped
                and not _marked(lines, node.lineno)
            ):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found[id(node)] = f"{where}: {node.value!r} (use {values[node.value]})"
    return sorted(set(found.values()))


def _files() -> list[Path]:
    files = [p for folder in SCANNED for p in sorted((ROOT / folder).rglob("*.py"))]
    return [p for p in files if MIGRATIONS not in p.parents and p != Path(__file__).resolve()]


def test_no_state_is_written_as_a_string_literal():
    values = distinctive_values()
    found = [hit for p in _files() for hit in literal_states(p, p.read_text("utf-8"), values)]
    assert found == [], "States written as literals:\n" + "\n".join(found)


def test_the_scan_names_a_planted_literal_and_lets_the_enum_pass():
    values = distinctive_values()
    here = ROOT / "tests" / "planted.py"
    planted = (
        "def f(item, s):\n"
        "    item.status = 'in_flight'\n"
        "    return s.where(kind == 'stop_reply')\n"
        "g(source='manual_toggle', kinds=('opt_out',))\n"
        "ok = QueueStatus.IN_FLIGHT\n"
        "KindChoice('stop_reply', 'STOP replies', ())\n"
        "stored = 'in_flight'  # not a state: what the database holds\n"
    )
    assert [hit.split(": ", 1)[0] for hit in literal_states(here, planted, values)] == [
        "tests/planted.py:2",
        "tests/planted.py:3",
        "tests/planted.py:4",
        "tests/planted.py:4",
    ]


def test_the_checked_values_cover_the_issue_s_enums():
    values = distinctive_values()
    assert values["in_flight"] == "QueueStatus.IN_FLIGHT"
    assert {"stop_reply", "manual_toggle", "twilio_21610", "not_opt_out", "kept_opted_out"} <= (
        values.keys()
    )
    assert ALSO_ANOTHER_VOCABULARY.isdisjoint(values)
