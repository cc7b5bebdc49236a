"""Pydantic validation errors -> SpecErrors located at the field's line, with a hint where one helps."""

from __future__ import annotations

import difflib
import re
import types
from typing import Annotated, Any, Iterable, Iterator, Mapping, Union, get_args, get_origin

from pydantic import BaseModel

from brownout.errors import SpecError
from brownout.experiments.loading.tree import FieldPath, Tree, format_field
from brownout.spec import Experiment

__all__ = ["convert"]


def convert(err: Mapping[str, Any], document: Any, tree: Tree) -> SpecError:
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
    file, line, column = tree.locate(field_path)
    line, column = at or (line, column)
    message, hint = _without_env_values(message, hint, field_path, tree)
    return SpecError(message, file, line, column, field_path or None, hint)


def _without_env_values(message: str, hint: str | None, field_path: str, tree: Tree) -> tuple[str, str | None]:
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

