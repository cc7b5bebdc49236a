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
import difflib
import math
import os
import re
import stat
import types
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Iterable, Iterator, Mapping, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from brownout.errors import SpecError, SpecErrors
from brownout.spec.interpolation import interpolate
from brownout.spec import API_VERSION, Experiment
from brownout.spec.faults.applicability import misplaced_faults
from brownout.spec.units import FROM_FILE
from brownout.redact import redact_document

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

MAX_BYTES = 1 << 20
"""Experiment files are small; anything bigger is a mistake (or an attack) and is refused unread."""
MAX_NODES = 10_000
"""Values built from one file, counting every alias expansion: stops 'billion laughs' early."""
MAX_DEPTH = 64
"""Nesting depth; PyYAML's composer recurses, so deeper input would overflow the stack."""
MAX_NUMBER = 10**15
"""Any number in a file, whatever its field: larger ones are typos or attacks, and would overflow later."""

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_LAST_PART = re.compile(r"(?:\.?[A-Za-z_][A-Za-z0-9_-]*|\[(?:\d+|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\])$")
_TAB_HINT = "indent with spaces: YAML does not allow tabs in indentation"

Position = tuple[int, int]
FieldPath = tuple[str | int, ...]


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
        line, column = _nearest(self.locations, field_path)
        return SpecError(message, str(self.path), line, column, field_path or None, hint)


def format_field(parts: Iterable[str | int]) -> str:
    """`('faults', 0, 'schedule', 'start')` -> `faults[0].schedule.start`; odd keys are quoted (`labels['app.io/x']`)."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


def load_experiment(path: Path, *, env: Mapping[str, str] | None = None) -> LoadedExperiment:
    """Read, parse, interpolate and validate one experiment file; raise SpecErrors listing every problem."""
    path = Path(path)
    return load_experiment_text(_read(path), path, env=env)


def load_experiment_text(source: str, path: Path, *, env: Mapping[str, str] | None = None) -> LoadedExperiment:
    """Like `load_experiment` for text already read; `path` names the file in errors and anchors relative paths."""
    file = str(path)
    tree = _parse(source, file)
    errors = list(tree.errors)
    document = _interpolate_tree(tree.document, (), os.environ if env is None else env, tree, errors)
    try:
        spec = Experiment.model_validate(document, context={FROM_FILE: True})
    except ValidationError as exc:
        raise SpecErrors(errors + [_convert(err, document, tree) for err in exc.errors(include_url=False)]) from None
    errors += [SpecError(message, file, *_nearest(tree.values, at), at, hint) for at, message, hint in misplaced_faults(spec)]
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


# -- reading ---------------------------------------------------------------------------------


def _read(path: Path) -> str:
    """Text of a regular file under MAX_BYTES; the size is checked before anything is read."""
    file = str(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise SpecErrors([SpecError("is a directory, not an experiment file", file)])
        if not stat.S_ISREG(info.st_mode):
            raise SpecErrors([SpecError("not a regular file", file)])
        if info.st_size > MAX_BYTES:
            raise SpecErrors([_too_large(file, info.st_size)])
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SpecErrors([SpecError(f"cannot read file: {exc.strerror or exc}", file)]) from None
    if len(data) > MAX_BYTES:
        raise SpecErrors([_too_large(file, len(data))])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line, column = before.count(b"\n") + 1, exc.start - (before.rfind(b"\n") + 1) + 1
        raise SpecErrors([SpecError("file is not valid UTF-8 text", file, line, column)]) from None


def _too_large(file: str, size: int) -> SpecError:
    return SpecError(
        f"file is {size} bytes, over the {MAX_BYTES // 1024} KiB limit for experiment files",
        file,
        hint="keep datasets in separate files (load.dataset.path)",
    )


# -- YAML -> document with locations ----------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader whose composer refuses deep nesting with a located error instead of a RecursionError."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self._depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


@dataclass
class _Tree:
    """The raw document plus where each field is: `values` at the value, `keys` at the key."""

    file: str
    loader: _Loader
    document: Any = None
    values: dict[str, Position] = field(default_factory=dict)
    keys: dict[str, Position] = field(default_factory=dict)
    errors: list[SpecError] = field(default_factory=list)
    nodes: int = 0
    from_env: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # field -> (value, variables it came from)

    def error(self, message: str, at: Position, parts: FieldPath = (), hint: str | None = None) -> SpecError:
        return SpecError(message, self.file, at[0], at[1], format_field(parts) or None, hint)

    def count(self, node: Node, parts: FieldPath, depth: int) -> Position:
        """Count one more value built (aliases and merges included) and refuse past the bounds."""
        self.nodes += 1
        at = _position(node.start_mark)
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise SpecErrors([self.error(
                f"the document expands to more than {MAX_NODES} values or {MAX_DEPTH} levels",
                at, parts, hint="aliases (*name) and merges (<<) that repeat anchors exponentially or recursively are refused",
            )])
        return at

    def build(self, node: Node, parts: FieldPath) -> Any:
        """Python value of `node`; fatal problems raise SpecErrors, others are collected."""
        at = self.count(node, parts, len(parts))
        self.values.setdefault(format_field(parts), at)
        if isinstance(node, MappingNode) and node.tag == _MAP:
            return self._mapping(node, parts)
        if isinstance(node, SequenceNode) and node.tag == _SEQ:
            return [self.build(child, (*parts, i)) for i, child in enumerate(node.value)]
        if isinstance(node, ScalarNode):
            return self._scalar(node, parts)
        raise SpecErrors([self.error(f"unsupported YAML tag {node.tag}", at, parts)])

    def _scalar(self, node: ScalarNode, parts: FieldPath) -> Any:
        try:
            return self.loader.construct_object(node)
        # PyYAML's scalar constructors raise assorted builtin errors on values with a wrong explicit tag.
        except (yaml.YAMLError, ValueError, TypeError, AttributeError, OverflowError) as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            raise SpecErrors([self.error(f"invalid value {node.value[:40]!r}: {problem}", _position(node.start_mark), parts)]) from None

    def _mapping(self, node: MappingNode, parts: FieldPath, merged_into: int = 0) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, int] = {}
        merges = []
        for key_node, value_node in node.value:
            key_at = _position(key_node.start_mark)
            if key_node.tag == _MERGE:
                merges.append((key_at, value_node))
                continue
            if not isinstance(key_node, ScalarNode):
                self.errors.append(self.error("a key must be a plain value, not a list or mapping", key_at, parts))
                continue
            key = key_node.value
            child = (*parts, key)
            if key in seen:
                self.errors.append(self.error(
                    f"duplicate key '{key}' (first at line {seen[key]}, again at line {key_at[0]})", key_at, child,
                    hint="YAML would silently keep only the last one; remove one of them",
                ))
                continue
            seen[key] = key_at[0]
            self.keys.setdefault(format_field(child), key_at)
            result[key] = self.build(value_node, child)
        for merge_at, merge in merges:  # `<<: *defaults`: explicit keys win, earlier merges win over later ones
            sources = merge.value if isinstance(merge, SequenceNode) else [merge]
            for source in sources:
                if not (isinstance(source, MappingNode) and source.tag == _MAP):
                    raise SpecErrors([self.error("'<<' merges a mapping or a list of mappings", _position(source.start_mark), parts)])
                self.count(source, parts, len(parts) + merged_into + 1)
                for key, value in self._mapping(source, parts, merged_into + 1).items():
                    if key not in result:
                        result[key] = value
                        self.keys[format_field((*parts, key))] = merge_at  # an unknown merged key is blamed on the `<<`
        return result


def _position(mark: yaml.Mark) -> Position:
    return mark.line + 1, mark.column + 1


def _parse(source: str, file: str) -> _Tree:
    """YAML text -> `_Tree`; raises SpecErrors for anything that is not one mapping document."""
    loader = None
    try:
        loader = _Loader(source)  # the reader checks for control characters here already
        tree = _Tree(file, loader)
        root = loader.get_single_node()
        if root is None:
            raise SpecErrors([SpecError(
                "the file is empty", file, 1, 1, hint=f"an experiment starts with 'apiVersion: {API_VERSION}' and 'kind: Experiment'"
            )])
        if not (isinstance(root, MappingNode) and root.tag == _MAP):
            what = "a list" if isinstance(root, SequenceNode) else "a single value"
            raise SpecErrors([tree.error(
                f"the top level must be a mapping (apiVersion, kind, metadata, ...), not {what}", _position(root.start_mark)
            )])
        tree.document = tree.build(root, ())
    except yaml.MarkedYAMLError as exc:
        raise SpecErrors([_yaml_error(exc, file, source)]) from None
    except yaml.reader.ReaderError as exc:  # a control character, located by offset only
        line = source.count("\n", 0, exc.position) + 1
        column = exc.position - (source.rfind("\n", 0, exc.position) + 1) + 1
        message = f"invalid YAML: character #x{exc.character:04x} is not allowed ({exc.reason})"
        raise SpecErrors([SpecError(message, file, line, column)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return tree


def _yaml_error(exc: yaml.MarkedYAMLError, file: str, source: str) -> SpecError:
    mark = exc.problem_mark or exc.context_mark
    if exc.context_mark is not None and "end of stream" in (exc.problem or ""):
        mark = exc.context_mark  # an unclosed quote or bracket: where it opened, not the end of the file
        return SpecError(f"invalid YAML: {(exc.context or 'a value').removeprefix('while scanning ')} opened here is never closed "
                         "(the file ends first)", file,
                         *_position(mark), hint="close the quote or bracket opened here")
    line, column = _position(mark) if mark else (None, None)
    if isinstance(exc, yaml.composer.ComposerError) and "single document" in (exc.context or ""):
        return SpecError("the file holds more than one YAML document ('---')", file, line, column,
                         hint="write one experiment per file")
    message = f"invalid YAML: {exc.problem or exc.context}"
    if exc.context and exc.problem:
        message += f" ({exc.context}"
        if exc.context_mark and exc.context_mark.line != mark.line:
            message += f" started at line {exc.context_mark.line + 1}"
        message += ")"
    tab = "'\\t'" in (exc.problem or "") or (mark is not None and source[mark.index : mark.index + 1] == "\t")
    return SpecError(message, file, line, column, hint=_TAB_HINT if tab else None)


# -- ${VAR} interpolation ---------------------------------------------------------------------


def _interpolate_tree(value: Any, parts: FieldPath, env: Mapping[str, str], tree: _Tree, errors: list[SpecError]) -> Any:
    """A copy of the document with ${VAR} resolved in every string value (keys are left alone), each
    text and number checked against the bounds every field shares."""
    if isinstance(value, dict):
        for key in value:
            _check_text(key, (*parts, key), tree, errors, [])
            if isinstance(key, str) and key.endswith("_env"):
                _check_env_name(value[key], (*parts, key), tree, errors)
        return {k: _interpolate_tree(v, (*parts, k), env, tree, errors) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate_tree(v, (*parts, i), env, tree, errors) for i, v in enumerate(value)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not (math.isfinite(value) and abs(value) <= MAX_NUMBER):
            at = _nearest(tree.values, format_field(parts))
            errors.append(tree.error(f"number out of range: brownout takes finite numbers up to {MAX_NUMBER:.0e}", at, parts))
        return value
    if not isinstance(value, str) or "${" not in value:
        _check_text(value, parts, tree, errors, [])
        return value
    text, problems = interpolate(value, env)
    at = _nearest(tree.values, format_field(parts))
    errors += [tree.error(message, at, parts, hint) for message, hint in problems]
    names = sorted(set(_VARIABLE.findall(value)))
    if text != value:
        tree.from_env[format_field(parts)] = (text, names)
    _check_text(text, parts, tree, errors, names)
    return text


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def _check_env_name(value: Any, parts: FieldPath, tree: _Tree, errors: list[SpecError]) -> None:
    """`*_env` fields name a variable; a value there is a secret pasted where its name belongs: never echoed."""
    if value is None or isinstance(value, str) and _ENV_NAME.fullmatch(value):
        return
    reference = _VARIABLE.match(value) if isinstance(value, str) else None
    hint = (f"write the variable's name, {reference.group(1)}, without ${{...}}" if reference
            else "e.g. OPENAI_API_KEY: letters, digits and '_', not starting with a digit")
    at = _nearest(tree.values, format_field(parts))
    errors.append(tree.error(f"'{parts[-1]}' must name an environment variable, not hold a value (the value is not shown)",
                             at, parts, hint=hint))


def _check_text(value: Any, parts: FieldPath, tree: _Tree, errors: list[SpecError], names: list[str]) -> None:
    """Refuse control characters and unpaired surrogates: they break terminals, JSON and every report later.

    The message names the character and its position, never the text (it may come from a secret).
    """
    if not isinstance(value, str):
        return
    for index, char in enumerate(value):
        if char in "\t\n\r" or unicodedata.category(char) not in ("Cc", "Cs"):
            continue
        what = "an unpaired surrogate" if unicodedata.category(char) == "Cs" else "a control character"
        source = f" (in the value of ${{{', '.join(names)}}})" if names else ""
        at = _nearest(tree.values, format_field(parts))
        errors.append(tree.error(f"{what} U+{ord(char):04X} at position {index + 1} is not allowed{source}", at, parts,
                                 hint="experiment text must be printable Unicode"))
        return


# -- pydantic errors -> located SpecErrors ----------------------------------------------------


def _convert(err: Mapping[str, Any], document: Any, tree: _Tree) -> SpecError:
    parts, kinds = _walk(err["loc"])
    kind, ctx, given = err["type"], err.get("ctx") or {}, err.get("input")
    hint = None
    use_key = False
    if kind == "extra_forbidden":
        key = str(parts[-1])
        message, hint, use_key = f"unknown key '{key}'", _suggest(key, _field_names(kinds[-2]), "allowed keys"), True
    elif kind == "missing":
        message = f"missing required key '{parts[-1]}'"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        discriminator = str(ctx.get("discriminator", "kind")).strip("'")
        tags = sorted(_tagged_members(kinds[-1]))
        parts = (*parts, discriminator)
        if kind == "union_tag_invalid":
            message = f"unknown {discriminator} '{ctx.get('tag')}'"
            hint = _suggest(str(ctx.get("tag")), tags, f"allowed {discriminator}s")
        else:
            message = f"missing '{discriminator}'"
            hint = f"allowed {discriminator}s: {', '.join(tags)}"
    elif kind in ("value_error", "assertion_error") and "error" in ctx:
        message = str(ctx["error"])
        if not parts:
            parts = _named_item(message, document)
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = f"expected a mapping, got {_show(given)}"
    elif kind == "list_type":
        message = f"expected a list, got {_show(given)}"
    elif kind == "literal_error":
        message = f"expected {ctx.get('expected')}, got {_show(given)}"
        close = difflib.get_close_matches(str(given), re.findall(r"'([^']*)'", str(ctx.get("expected"))), n=1)
        hint = f"did you mean '{close[0]}'?" if close else None
    else:
        msg = str(err["msg"])
        message = f"{msg[:1].lower()}{msg[1:]}" + ("" if " got " in msg else f", got {_show(given)}")
    field_path = format_field(parts)
    at = tree.keys.get(field_path) if use_key else None
    line, column = at or _nearest(tree.values, field_path)
    message, hint = _without_env_values(message, hint, field_path, tree)
    return SpecError(message, tree.file, line, column, field_path or None, hint)


def _without_env_values(message: str, hint: str | None, field_path: str, tree: _Tree) -> tuple[str, str | None]:
    """Replace every value that came from ${VAR} (at or below `field_path`) by the variable's name."""
    for path, (value, names) in tree.from_env.items():
        if not value or not (path == field_path or path.startswith(field_path)):
            continue
        label = f"<the value of ${{{', '.join(names)}}}>"
        for shown in (repr(value), value):
            message = message.replace(shown, label)
            hint = hint.replace(shown, label) if hint else hint
    return message, hint


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _suggest(word: str, choices: list[str], label: str) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    listed = f"{label}: {', '.join(choices)}" if choices else None
    if close:
        return f"did you mean '{close[0]}'?" + (f" {listed}" if len(choices) <= 12 and listed else "")
    return listed


def _named_item(message: str, document: dict[str, Any]) -> FieldPath:
    """Point a whole-experiment check at what it names, instead of at the top of the file.

    `Experiment`'s cross-checks can only raise at the root; their messages name the
    culprit (`fault 'x' runs until ...`, `repeated: x`, `referenced: x`), which is found here.
    """
    if match := re.search(r"\bfault '([^']+)' (starts at|runs until)", message):
        for parts in _paths_with_value(document, match.group(1)):
            if parts[:1] == ("faults",) and parts[-1] == "name":
                key = "start" if match.group(2) == "starts at" else "duration"
                return _deepest(document, (*parts[:-1], "schedule", key))
    if match := re.search(r"\bfault '([^']+)' names (region|region_outage) ", message):
        for parts in _paths_with_value(document, match.group(1)):
            if parts[:1] == ("faults",) and parts[-1] == "name":
                return _deepest(document, (*parts[:-1], match.group(2)))
    if message.startswith("scoring.bucket "):
        return _deepest(document, ("scoring", "bucket"))
    if match := re.search(r"repeated: ([^,;]+)", message):
        named = [p for p in _paths_with_value(document, match.group(1).strip()) if p[-1] == "name" and len(p) == 3]
        return named[1] if len(named) > 1 else ()
    if match := re.search(r"referenced: ([^,;]+)", message):
        refs = [p for p in _paths_with_value(document, match.group(1).strip()) if p[-1] != "name"]
        return refs[0] if refs else ()
    return ()


def _paths_with_value(node: Any, value: str, parts: FieldPath = ()) -> Iterator[FieldPath]:
    """Paths of string values equal to `value`, in document order."""
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths_with_value(child, value, (*parts, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _paths_with_value(child, value, (*parts, index))
    elif node == value:
        yield parts


def _deepest(document: Any, parts: FieldPath) -> FieldPath:
    """The longest prefix of `parts` that exists in the document."""
    node = document
    for depth, part in enumerate(parts):
        if isinstance(node, dict) and part in node or isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return parts[:depth]
    return parts


def _nearest(locations: Mapping[str, Position], field_path: str) -> Position:
    """Location of `field_path`, or of its nearest parent that exists in the file (a missing key -> its mapping)."""
    while field_path and field_path not in locations:
        parent = _LAST_PART.sub("", field_path, count=1)
        field_path = parent if parent != field_path else ""
    return locations.get(field_path, (1, 1))


def _walk(loc: Iterable[Any]) -> tuple[FieldPath, list[Any]]:
    """Pydantic's `loc` -> the document path (union tags dropped) and the spec type at each depth."""
    parts: list[str | int] = []
    kinds: list[Any] = [Experiment]
    for element in loc:
        members = _tagged_members(kinds[-1])
        if element in members:
            kinds[-1] = members[element]
            continue
        if members == {} and _is_union(kinds[-1]) and isinstance(element, str):
            continue  # pydantic names the member of a plain union (`float`, `str`) it tried
        parts.append(element)
        kinds.append(_child_type(kinds[-1], element))
    return tuple(parts), kinds


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional; a union of several types stays a union."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _is_union(tp: Any) -> bool:
    return get_origin(_unwrap(tp)) in (Union, types.UnionType)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _child_type(tp: Any, element: Any) -> Any:
    tp = _unwrap(tp)
    if _is_model(tp) and isinstance(element, str):
        for name, info in tp.model_fields.items():
            if element in (name, info.alias):
                return _unwrap(info.annotation)
    origin = get_origin(tp)
    if origin is list and isinstance(element, int):
        return _unwrap(get_args(tp)[0])
    if origin is dict:
        return _unwrap(get_args(tp)[1])
    return None


def _tagged_members(tp: Any) -> dict[Any, Any]:
    """A union of models told apart by `kind`: tag -> model."""
    if not _is_union(tp):
        return {}
    members = {}
    for member in get_args(_unwrap(tp)):
        member = _unwrap(member)
        if _is_model(member) and "kind" in member.model_fields:
            members.update({tag: member for tag in get_args(_unwrap(member.model_fields["kind"].annotation))})
    return members


def _field_names(tp: Any) -> list[str]:
    tp = _unwrap(tp)
    return [info.alias or name for name, info in tp.model_fields.items()] if _is_model(tp) else []
