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
from brownout.experiments.loading.references import Reference, Roots, resolve
from brownout.experiments.loading.tree import MAX_DEPTH, MAX_NODES, Position, Tree, format_field, locate, parse
from brownout.redact import redact_document
from brownout.spec import Experiment
from brownout.spec.faults.applicability import misplaced_faults
from brownout.spec.files import data_files
from brownout.spec.units import FROM_FILE

FRAGMENTS = "fragments"
"""A folder of included fragments (probe lists, SLO sets, fault lists) beside experiments: not experiments."""

__all__ = [
    "FRAGMENTS",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "LoadedExperiment",
    "Reference",
    "format_field",
    "load_experiment",
    "load_experiment_text",
    "validate_paths",
]


@dataclass(frozen=True)
class LoadedExperiment:
    """A valid experiment and where it came from.

    `document` is interpolated (what was validated); `raw_document` is as
    written (fragments spliced in), so values that came from ${VAR} (API keys,
    tokens) never reach results: use `document_for_results()` for anything
    persisted. Data files in the spec are absolute paths once loaded;
    `references` lists every file the experiment read (fragments and data).
    """

    spec: Experiment
    path: Path
    source: str
    document: dict[str, Any]
    raw_document: dict[str, Any]
    locations: Mapping[str, Position] = field(repr=False)
    files: Mapping[str, str] = field(default_factory=dict, repr=False)  # field -> the fragment it was written in
    references: tuple[Reference, ...] = ()

    def document_for_results(self) -> dict[str, Any]:
        """The uninterpolated document with credentials in URLs redacted, safe to copy into results and journals."""
        return redact_document(copy.deepcopy(self.raw_document))

    def error_at(self, field_path: str, message: str, hint: str | None = None) -> SpecError:
        """A SpecError located at `field_path` (or its nearest parent), for problems found after loading (resolve, dry run)."""
        file, line, column = locate(self.locations, self.files, str(self.path), field_path)
        return SpecError(message, file, line, column, field_path or None, hint)


def load_experiment(path: Path, *, env: Mapping[str, str] | None = None, allow: Iterable[Path] = ()) -> LoadedExperiment:
    """Read, parse, interpolate and validate one experiment file; raise SpecErrors listing every problem.

    `allow`: folders outside the repository root that fragments and data files may come from.
    """
    path = Path(path)
    return load_experiment_text(read_text(path), path, env=env, allow=allow)


def load_experiment_text(source: str, path: Path, *, env: Mapping[str, str] | None = None,
                         allow: Iterable[Path] = ()) -> LoadedExperiment:
    """Like `load_experiment` for text already read; `path` names the file in errors and anchors relative paths."""
    env = os.environ if env is None else env
    roots = Roots.for_experiment(Path(path), allow, env)
    tree = parse(source, str(path), roots)
    errors = list(tree.errors)
    document = interpolate_tree(tree.document, (), env, tree, errors)
    try:
        spec = Experiment.model_validate(document, context={FROM_FILE: True})
    except ValidationError as exc:
        raise SpecErrors(errors + [convert(err, document, tree) for err in exc.errors(include_url=False)]) from None
    errors += [SpecError(message, *tree.locate(at), at, hint) for at, message, hint in misplaced_faults(spec)]
    data = _data_files(spec, document, tree, roots, errors)
    if errors:
        raise SpecErrors(errors)
    if data:  # validated again with every data file as an absolute path: where it was written no longer matters
        spec = Experiment.model_validate(document, context={FROM_FILE: True})
    return LoadedExperiment(spec, Path(path), source, document, tree.document, dict(tree.values), dict(tree.files),
                            (*tree.references, *data))


def _data_files(spec: Experiment, document: dict[str, Any], tree: Tree, roots: Roots,
                errors: list[SpecError]) -> list[Reference]:
    """Resolve every `DataFile` field against the file it was written in, inside the roots, existing;
    `document` gets the absolute paths."""
    found = []
    for parts, written in data_files(spec):
        at = format_field(parts)
        file, line, column = tree.locate(at)
        path = resolve(written, Path(file).parent)
        if not roots.admits(path):
            message, hint = roots.refusal(written, path)
            errors.append(SpecError(message, file, line, column, at, hint))
        elif not path.is_file():
            errors.append(SpecError(f"no such file: '{written}' (looked for {path})", file, line, column, at,
                                    "paths are relative to the file that names them"))
        else:
            found.append(Reference(at, written, path, "data"))
            _set(document, parts, str(path))
    return found


def _set(document: Any, parts: tuple[str | int, ...], value: str) -> None:
    node = document
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value


def validate_paths(paths: Iterable[Path], allow: Iterable[Path] = ()) -> list[tuple[Path, list[SpecError]]]:
    """Check files and directories (`*.yaml`, `*.yml`, recursively, sorted); never raises for a bad file.

    In a directory, files under a `fragments/` folder are skipped: a fragment is checked where an
    experiment includes it.
    """
    allow = tuple(allow)
    results: list[tuple[Path, list[SpecError]]] = []
    for path in map(Path, paths):
        if not path.is_dir():
            results.append((path, _problems(path, allow)))
            continue
        try:
            files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
                           and FRAGMENTS not in p.relative_to(path).parts[:-1])
        except OSError as exc:
            results.append((path, [SpecError(f"cannot list directory: {exc.strerror or exc}", str(path))]))
            continue
        if not files:
            results.append((path, [SpecError("no experiment files (*.yaml, *.yml) in this directory", str(path))]))
        results += [(f, _problems(f, allow)) for f in files]
    return results


def _problems(path: Path, allow: tuple[Path, ...]) -> list[SpecError]:
    try:
        load_experiment(path, allow=allow)
    except SpecErrors as exc:
        return exc.errors
    return []

