"""Experiment files in, a validated `Experiment` out, or every problem located by file, line and field.

    bytes (size-capped) -> YAML node tree (safe loader, depth-bounded)
      -> raw document + a line/column for every dotted field (duplicate keys, alias bombs refused)
      -> ${VAR} interpolation, text and number bounds -> pydantic validation -> each error mapped back to its line

An error about a value that came from `${VAR}` names the variable, never the value (it may be a secret).

All problems found in one pass are raised together as one `SpecErrors`, so a
user fixes a file in one round instead of one error per run.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from pydantic import ValidationError

from brownout.errors import SpecError, SpecErrors
from brownout.experiments.loading.interpolate import interpolate_tree
from brownout.experiments.loading.pydantic_errors import convert
from brownout.experiments.loading.read import MAX_BYTES, read_text
from brownout.experiments.loading.tree import MAX_DEPTH, MAX_NODES, Position, format_field, nearest, parse
from brownout.redact import redact_document
from brownout.spec import Experiment
from brownout.spec.faults.applicability import misplaced_faults
from brownout.spec.units import FROM_FILE

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "LoadedExperiment",
    "format_field",
    "load_experiment",
    "load_experiment_text",
    "validate_paths",
]


@dataclass(frozen=True)
class LoadedExperiment:
    """A valid experiment and where it came from.

    `document` is interpolated (what was validated); `raw_document` is as
    written, so values that came from ${VAR} (API keys, tokens) never reach
    results: use `document_for_results()` for anything persisted. Relative
    paths in the spec (datasets) resolve against `path.parent`.
    """

    spec: Experiment
    path: Path
    source: str
    document: dict[str, Any]
    raw_document: dict[str, Any]
    locations: Mapping[str, Position] = field(repr=False)

    def document_for_results(self) -> dict[str, Any]:
        """The uninterpolated document with credentials in URLs redacted, safe to copy into results and journals."""
        return redact_document(copy.deepcopy(self.raw_document))

    def error_at(self, field_path: str, message: str, hint: str | None = None) -> SpecError:
        """A SpecError located at `field_path` (or its nearest parent), for problems found after loading (resolve, dry run)."""
        line, column = nearest(self.locations, field_path)
        return SpecError(message, str(self.path), line, column, field_path or None, hint)



def load_experiment(path: Path, *, env: Mapping[str, str] | None = None) -> LoadedExperiment:
    """Read, parse, interpolate and validate one experiment file; raise SpecErrors listing every problem."""
    path = Path(path)
    return load_experiment_text(read_text(path), path, env=env)



def load_experiment_text(source: str, path: Path, *, env: Mapping[str, str] | None = None) -> LoadedExperiment:
    """Like `load_experiment` for text already read; `path` names the file in errors and anchors relative paths."""
    file = str(path)
    tree = parse(source, file)
    errors = list(tree.errors)
    document = interpolate_tree(tree.document, (), os.environ if env is None else env, tree, errors)
    try:
        spec = Experiment.model_validate(document, context={FROM_FILE: True})
    except ValidationError as exc:
        raise SpecErrors(errors + [convert(err, document, tree) for err in exc.errors(include_url=False)]) from None
    errors += [SpecError(message, file, *nearest(tree.values, at), at, hint) for at, message, hint in misplaced_faults(spec)]
    if errors:
        raise SpecErrors(errors)
    return LoadedExperiment(spec, path, source, document, tree.document, dict(tree.values))



def validate_paths(paths: Iterable[Path]) -> list[tuple[Path, list[SpecError]]]:
    """Check files and directories (`*.yaml`, `*.yml`, recursively, sorted); never raises for a bad file."""
    results: list[tuple[Path, list[SpecError]]] = []
    for path in map(Path, paths):
        if not path.is_dir():
            results.append((path, _problems(path)))
            continue
        try:
            files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        except OSError as exc:
            results.append((path, [SpecError(f"cannot list directory: {exc.strerror or exc}", str(path))]))
            continue
        if not files:
            results.append((path, [SpecError("no experiment files (*.yaml, *.yml) in this directory", str(path))]))
        results += [(f, _problems(f)) for f in files]
    return results



def _problems(path: Path) -> list[SpecError]:
    try:
        load_experiment(path)
    except SpecErrors as exc:
        return exc.errors
    return []

