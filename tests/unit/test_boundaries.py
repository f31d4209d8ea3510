"""The simulator is invisible to the crawler, as a real phone is: nothing under crawler/ imports emulator.sim or
emulator.zoo except the commands that start simulated devices (demo, sim)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SIMULATOR = ("emulator.sim", "emulator.zoo")
STARTS_SIMULATED_DEVICES = {"demo", "sim"}  # command modules (crawler/demo.py, crawler/cli/{demo,sim}.py)


def simulator_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        found += [f"{path.relative_to(REPO)}:{node.lineno} {n}" for n in names
                  if any(n == s or n.startswith(s + ".") for s in SIMULATOR)]
    return found


def test_nothing_in_the_crawler_imports_the_simulator_but_the_commands_that_start_it():
    allowed = {REPO / "crawler" / "cli.py"} | {p for p in (REPO / "crawler").rglob("*.py")
                                              if p.stem in STARTS_SIMULATED_DEVICES}
    leaks = [hit for p in sorted((REPO / "crawler").rglob("*.py")) if p not in allowed for hit in simulator_imports(p)]
    assert leaks == []
    assert simulator_imports(REPO / "crawler" / "demo.py")  # the check sees imports inside functions
