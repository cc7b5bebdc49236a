"""YAML text -> a document plus where every field is (file, line, column), within bounds.

The safe loader's node tree is walked by hand so that duplicate keys, alias bombs
and deep nesting are refused with a location, and every dotted field path
(`faults[0].schedule.start`) keeps the line and column it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from brownout.errors import SpecError, SpecErrors
from brownout.experiments.loading.read import read_text
from brownout.experiments.loading.references import (
    INCLUDE_KEY,
    INCLUDE_LISTS,
    INCLUDE_MAPPINGS,
    MAX_INCLUDE_DEPTH,
    Reference,
    Roots,
    resolve,
)
from brownout.spec import API_VERSION

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "FieldPath",
    "Location",
    "Position",
    "Tree",
    "format_field",
    "locate",
    "nearest",
    "parse",
    "position",
]

MAX_NODES = 10_000
"""Values built from one file, counting every alias expansion: stops 'billion laughs' early."""
MAX_DEPTH = 64
"""Nesting depth; PyYAML's composer recurses, so deeper input would overflow the stack."""

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_LAST_PART = re.compile(r"(?:\.?[A-Za-z_][A-Za-z0-9_-]*|\[(?:\d+|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\])$")
_TAB_HINT = "indent with spaces: YAML does not allow tabs in indentation"

Position = tuple[int, int]
Location = tuple[str, int, int]  # file, line, column
FieldPath = tuple[str | int, ...]


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


def _found(locations: Mapping[str, Any], field_path: str) -> str:
    """`field_path`, or its nearest parent that is in `locations` ("" when none is)."""
    while field_path and field_path not in locations:
        parent = _LAST_PART.sub("", field_path, count=1)
        field_path = parent if parent != field_path else ""
    return field_path


def nearest(locations: Mapping[str, Position], field_path: str) -> Position:
    """Location of `field_path`, or of its nearest parent that exists in the file (a missing key -> its mapping)."""
    return locations.get(_found(locations, field_path), (1, 1))


def locate(values: Mapping[str, Position], files: Mapping[str, str], default: str, field_path: str) -> Location:
    """File, line and column of `field_path` (or its nearest parent): an included fragment's field is in that file."""
    found = _found(values, field_path)
    line, column = values.get(found, (1, 1))
    return files.get(found, default), line, column


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
class Tree:
    """The raw document plus where each field is: `values` at the value, `keys` at the key."""

    file: str
    loader: _Loader
    roots: Roots | None = None  # None: includes are refused (text that is not a file of a repository)
    document: Any = None
    values: dict[str, Position] = field(default_factory=dict)
    keys: dict[str, Position] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # field -> the included file it was written in
    errors: list[SpecError] = field(default_factory=list)
    nodes: int = 0
    from_env: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # field -> (value, variables it came from)
    references: list[Reference] = field(default_factory=list)
    current: str = ""  # the file being built (the experiment, or a fragment it includes)
    _stack: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.current = self.current or self.file

    def file_of(self, field_path: str) -> str:
        return locate(self.values, self.files, self.file, field_path)[0]

    def locate(self, field_path: str) -> Location:
        return locate(self.values, self.files, self.file, field_path)

    def error(self, message: str, at: Position, parts: FieldPath = (), hint: str | None = None) -> SpecError:
        return SpecError(message, self.file_of(format_field(parts)), at[0], at[1], format_field(parts) or None, hint)

    def _record(self, parts: FieldPath, at: Position, *, override: bool = False) -> None:
        path = format_field(parts)
        if override or path not in self.values:
            self.values[path] = at
            if self.current != self.file:
                self.files[path] = self.current

    def count(self, node: Node, parts: FieldPath, depth: int) -> Position:
        """Count one more value built (aliases and merges included) and refuse past the bounds."""
        self.nodes += 1
        at = position(node.start_mark)
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise SpecErrors([self.error(
                f"the document expands to more than {MAX_NODES} values or {MAX_DEPTH} levels",
                at, parts, hint="aliases (*name) and merges (<<) that repeat anchors exponentially or recursively are refused",
            )])
        return at

    def build(self, node: Node, parts: FieldPath) -> Any:
        """Python value of `node`; fatal problems raise SpecErrors, others are collected."""
        at = self.count(node, parts, len(parts))
        self._record(parts, at)
        if isinstance(node, MappingNode) and node.tag == _MAP:
            include = self._include_of(node, parts) if format_field(parts) in INCLUDE_MAPPINGS else None
            if include is not None:
                return self._fragment(include, parts, None)
            return self._mapping(node, parts)
        if isinstance(node, SequenceNode) and node.tag == _SEQ:
            return self._items(node.value, parts, 0)
        if isinstance(node, ScalarNode):
            return self._scalar(node, parts)
        raise SpecErrors([self.error(f"unsupported YAML tag {node.tag}", at, parts)])

    def _items(self, nodes: list[Node], parts: FieldPath, start: int) -> list[Any]:
        """A list's items from `start` on; in an includable list an item `{include: file}` is that file's items."""
        items: list[Any] = []
        includable = format_field(parts) in INCLUDE_LISTS
        for child in nodes:
            include = self._include_of(child, parts) if includable else None
            if include is None:
                items.append(self.build(child, (*parts, start + len(items))))
            else:
                items.extend(self._fragment(include, parts, start + len(items)))
        return items

    def _include_of(self, node: Node, parts: FieldPath) -> tuple[str, Position] | None:
        """(path, where it is written) when `node` is `{include: path}`; a mapping that mixes it with other keys is refused."""
        if not (isinstance(node, MappingNode) and node.tag == _MAP):
            return None
        keys = [k.value for k, _ in node.value if isinstance(k, ScalarNode)]
        if INCLUDE_KEY not in keys:
            return None
        at = position(node.start_mark)
        value = dict((k.value, v) for k, v in node.value if isinstance(k, ScalarNode))[INCLUDE_KEY]
        if len(node.value) != 1 or not isinstance(value, ScalarNode) or not value.value:
            raise SpecErrors([SpecError(f"'{INCLUDE_KEY}' stands alone and names one file: {{{INCLUDE_KEY}: path}}",
                                        self.current, *at, format_field(parts) or None,
                                        "write the fragment's content in the included file")])
        return value.value, position(value.start_mark)

    def _fragment(self, include: tuple[str, Position], parts: FieldPath, start: int | None) -> Any:
        """The content of an included file, built at `parts` (list items from `start`, or the mapping itself)."""
        written, at = include
        here = format_field(parts if start is None else (*parts, start))

        def refuse(message: str, hint: str | None = None) -> SpecErrors:
            return SpecErrors([SpecError(message, self.current, *at, here or None, hint)])

        if self.roots is None:
            raise refuse("includes need an experiment file (the path is relative to it)")
        path = resolve(written, Path(self.current).parent)
        if not self.roots.admits(path):
            raise refuse(*self.roots.refusal(written, path))
        if path.resolve() in self._stack or len(self._stack) >= MAX_INCLUDE_DEPTH:
            raise refuse(f"'{written}' is included again inside itself (or more than {MAX_INCLUDE_DEPTH} deep)")
        try:
            source = read_text(path)
        except SpecErrors as exc:
            raise refuse(f"cannot include '{written}': {exc.errors[0].message}") from None
        self.references.append(Reference(here, written, path, "include"))
        saved, loader = (self.loader, self.current), None
        self._stack.append(path.resolve())
        try:
            loader = _Loader(source)  # the reader checks for control characters here already
            self.loader, self.current = loader, str(path)
            return self._fragment_value(loader.get_single_node(), parts, start, str(path))
        except (yaml.MarkedYAMLError, yaml.reader.ReaderError) as exc:
            raise SpecErrors([_yaml_error(exc, str(path), source)]) from None
        finally:
            self._stack.pop()
            self.loader, self.current = saved
            if loader is not None:
                loader.dispose()

    def _fragment_value(self, root: Node | None, parts: FieldPath, start: int | None, file: str) -> Any:
        wanted = "a list of items, or one item" if start is not None else "a mapping"
        if root is None:
            raise SpecErrors([SpecError(f"the included file is empty: it holds {wanted} for {format_field(parts)}", file, 1, 1)])
        if start is not None and isinstance(root, SequenceNode) and root.tag == _SEQ:
            return self._items(root.value, parts, start)
        if isinstance(root, MappingNode) and root.tag == _MAP:
            if start is not None:
                return self._items([root], parts, start)
            self.count(root, parts, len(parts))
            self._record(parts, position(root.start_mark), override=True)
            return self._mapping(root, parts)
        raise SpecErrors([SpecError(f"an included file for {format_field(parts)} holds {wanted}", file,
                                    *position(root.start_mark))])

    def _scalar(self, node: ScalarNode, parts: FieldPath) -> Any:
        try:
            return self.loader.construct_object(node)
        # PyYAML's scalar constructors raise assorted builtin errors on values with a wrong explicit tag.
        except (yaml.YAMLError, ValueError, TypeError, AttributeError, OverflowError) as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            raise SpecErrors([self.error(f"invalid value {node.value[:40]!r}: {problem}", position(node.start_mark), parts)]) from None

    def _mapping(self, node: MappingNode, parts: FieldPath, merged_into: int = 0) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, int] = {}
        merges = []
        for key_node, value_node in node.value:
            key_at = position(key_node.start_mark)
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
                    raise SpecErrors([self.error("'<<' merges a mapping or a list of mappings", position(source.start_mark), parts)])
                self.count(source, parts, len(parts) + merged_into + 1)
                for key, value in self._mapping(source, parts, merged_into + 1).items():
                    if key not in result:
                        result[key] = value
                        self.keys[format_field((*parts, key))] = merge_at  # an unknown merged key is blamed on the `<<`
        return result


def position(mark: yaml.Mark) -> Position:
    return mark.line + 1, mark.column + 1


def parse(source: str, file: str, roots: Roots | None = None) -> Tree:
    """YAML text -> `Tree`; raises SpecErrors for anything that is not one mapping document."""
    loader = None
    try:
        loader = _Loader(source)  # the reader checks for control characters here already
        tree = Tree(file, loader, roots)
        root = loader.get_single_node()
        if root is None:
            raise SpecErrors([SpecError(
                "the file is empty", file, 1, 1, hint=f"an experiment starts with 'apiVersion: {API_VERSION}' and 'kind: Experiment'"
            )])
        if not (isinstance(root, MappingNode) and root.tag == _MAP):
            what = "a list" if isinstance(root, SequenceNode) else "a single value"
            raise SpecErrors([tree.error(
                f"the top level must be a mapping (apiVersion, kind, metadata, ...), not {what}", position(root.start_mark)
            )])
        tree.document = tree.build(root, ())
    except (yaml.MarkedYAMLError, yaml.reader.ReaderError) as exc:
        raise SpecErrors([_yaml_error(exc, file, source)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return tree


def _yaml_error(exc: yaml.MarkedYAMLError | yaml.reader.ReaderError, file: str, source: str) -> SpecError:
    if isinstance(exc, yaml.reader.ReaderError):  # a control character, located by offset only
        line = source.count("\n", 0, exc.position) + 1
        column = exc.position - (source.rfind("\n", 0, exc.position) + 1) + 1
        return SpecError(f"invalid YAML: character #x{exc.character:04x} is not allowed ({exc.reason})", file, line, column)
    mark = exc.problem_mark or exc.context_mark
    if exc.context_mark is not None and "end of stream" in (exc.problem or ""):
        mark = exc.context_mark  # an unclosed quote or bracket: where it opened, not the end of the file
        return SpecError(f"invalid YAML: {(exc.context or 'a value').removeprefix('while scanning ')} opened here is never closed "
                         "(the file ends first)", file,
                         *position(mark), hint="close the quote or bracket opened here")
    line, column = position(mark) if mark else (None, None)
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

