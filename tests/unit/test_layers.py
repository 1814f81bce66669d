"""The layers hold (DESIGN.md "Layers"): the import-linter contracts in pyproject.toml are
kept, and no module is imported from a name string (which those contracts cannot see)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "trustpager_desktop"


def test_the_layer_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "broken" not in run.stdout.lower().replace("0 broken", "")


def _string_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in ("import_module", "__import__"):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_module_is_imported_from_a_name_string():
    found = [hit for path in PACKAGE.rglob("*.py") for hit in _string_imports(path)]
    assert found == []


TYPED = ("core", "store", "providers", "runtime", "usecases")


def test_each_type_ignore_in_the_typed_layers_says_why():
    """mypy runs strict there with warn_unused_ignores; an ignore that stays names its
    error code and, after it, the reason (on the same line)."""
    unexplained = []
    for layer in TYPED:
        for path in (PACKAGE / layer).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if "type: ignore" not in line:
                    continue
                after = line.split("type: ignore", 1)[1]
                if not after.startswith("[") or "#" not in after:
                    unexplained.append(f"{path.relative_to(ROOT)}:{number}")
    assert unexplained == []
