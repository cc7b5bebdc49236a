"""The data flows one way: spec -> plan -> run (load, probes, faults) -> saved data -> scoring -> outputs.

Every import in the package (module level, inside functions, under TYPE_CHECKING) is
read with `ast` and checked against the rules below, so an arrow pointing back up
fails here, not in review.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "brownout"

VOCABULARY = {"spec", "rundata"}          # what an experiment says; what a run writes and scoring reads
UTILITIES = {"errors", "exit_codes", "processes", "http_options", "lazy", "redact"}
RULES: dict[str, set[str]] = {
    # package (or top-level module) -> the other brownout packages it may import
    "spec": set(),
    "rundata": set(),
    "errors": set(),
    "exit_codes": set(),
    "lazy": set(),
    "redact": set(),
    "http_options": {"errors"},
    "processes": {"errors"},
    "sandbox": {"errors", "processes"},    # the reference stack knows nothing of the harness
    "loadgen": VOCABULARY | UTILITIES,
    "probes": VOCABULARY | UTILITIES | {"faults"},   # the Kubernetes probe shares the fault drivers' client
    "faults": VOCABULARY | UTILITIES | {"loadgen"},  # the KV-cache flood is a load
    "reports": VOCABULARY | {"errors", "exit_codes"},  # scoring is a pure function of saved data
    "experiments": VOCABULARY | UTILITIES | {"loadgen", "probes", "faults", "sandbox", "reports"},
    "cli": VOCABULARY | UTILITIES | {"loadgen", "probes", "faults", "sandbox", "reports", "experiments"},
    "pytest_plugin": VOCABULARY | UTILITIES | {"experiments", "reports"},
    "__main__": {"cli"},
    "__init__": set(),
}


def _top(module: str) -> str:
    return module.split(".")[1] if module.startswith("brownout.") else ""


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported brownout module) of every import in one file, relative ones resolved."""
    package = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)[:-1]  # an __init__'s is its folder
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                found.append((node.lineno, ".".join(base + ([node.module] if node.module else []))))
            elif node.module:
                found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name == "brownout" or name.startswith("brownout.")]


def _owner(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _violations() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        owner = _owner(path)
        allowed = RULES.get(owner)
        if allowed is None:
            out.append(f"{path.relative_to(PACKAGE.parent)}: package '{owner}' has no rule in tests/test_layering.py")
            continue
        for line, name in _imports(path):
            target = _top(name)
            if target and target != owner and target not in allowed:
                out.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {owner} -> {name}")
    return out


def test_every_import_follows_the_one_way_rules():
    assert _violations() == []


def test_the_rule_catches_an_arrow_back_up(tmp_path, monkeypatch):
    """The checker itself can fail: a reports module importing the runner is reported with its line."""
    fake = tmp_path / "brownout"
    (fake / "reports").mkdir(parents=True)
    (fake / "reports" / "bad.py").write_text("import json\n\ndef f():\n    from brownout.experiments import runner\n")
    (fake / "loadgen").mkdir()
    (fake / "loadgen" / "rel.py").write_text("from ..reports import bad\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert _violations() == ["brownout/loadgen/rel.py:1: loadgen -> brownout.reports",
                             "brownout/reports/bad.py:4: reports -> brownout.experiments"]


@pytest.mark.parametrize("package", sorted(VOCABULARY))
def test_the_vocabulary_imports_nothing_else_of_brownout(package):
    for path in sorted((PACKAGE / package).rglob("*.py")):
        assert [n for _, n in _imports(path) if _top(n) != package] == [], path
