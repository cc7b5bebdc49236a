"""The subset of JSON Schema a canary answer needs, so no extra dependency is pulled in.

Supported: type, enum, const, properties, required, additionalProperties,
items, minItems, maxItems, minLength, maxLength, pattern, minimum, maximum,
exclusiveMinimum, exclusiveMaximum, allOf, anyOf, oneOf, not. Annotations
($schema, title, description, ...) are ignored. Any other keyword is refused
when the experiment is loaded (`unsupported_keywords`): a schema keyword that is
silently skipped would make a wrong answer pass.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["schema_error", "unsupported_keywords"]

_ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "examples", "default"}
_SUBSCHEMA = {"items", "not"}
_SUBSCHEMA_LISTS = {"allOf", "anyOf", "oneOf"}
_SCALARS = {
    "type", "enum", "const", "required", "minItems", "maxItems", "minLength", "maxLength",
    "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
}
_KNOWN = _ANNOTATIONS | _SUBSCHEMA | _SUBSCHEMA_LISTS | _SCALARS | {"properties", "additionalProperties"}


def unsupported_keywords(schema: Any) -> list[str]:
    """Keywords anywhere in `schema` that `schema_error` would not check, sorted."""
    found: set[str] = set()
    _walk(schema, found)
    return sorted(found)


def _walk(schema: Any, found: set[str]) -> None:
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        found.add(f"<schema must be an object, got {type(schema).__name__}>")
        return
    found.update(k for k in schema if k not in _KNOWN)
    for key in _SUBSCHEMA:
        if key in schema:
            _walk(schema[key], found)
    for key in _SUBSCHEMA_LISTS:
        for sub in schema.get(key, []):
            _walk(sub, found)
    for sub in schema.get("properties", {}).values():
        _walk(sub, found)
    if isinstance(schema.get("additionalProperties"), dict):
        _walk(schema["additionalProperties"], found)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _is_type(value: Any, name: str) -> bool:
    actual = _type_name(value)
    if name == "number":
        return actual in ("integer", "number")
    if name == "integer":
        return actual == "integer" or (actual == "number" and float(value).is_integer())
    return actual == name


def schema_error(instance: Any, schema: Any, path: str = "$") -> str | None:
    """The first way `instance` violates `schema`, as "$.path: message"; None when it is valid."""
    if schema is True:
        return None
    if schema is False:
        return f"{path}: no value is allowed here"
    for check in (_type_and_values, _numbers, _strings, _arrays, _objects, _combinators):
        error = check(instance, schema, path)
        if error:
            return error
    return None


def _type_and_values(instance: Any, schema: dict, path: str) -> str | None:
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(instance, n) for n in names):
            return f"{path}: expected {' or '.join(names)}, got {_type_name(instance)}"
    if "enum" in schema and instance not in schema["enum"]:
        return f"{path}: {instance!r} is not one of {schema['enum']!r}"
    if "const" in schema and instance != schema["const"]:
        return f"{path}: {instance!r} != {schema['const']!r}"
    return None


def _numbers(instance: Any, schema: dict, path: str) -> str | None:
    if _type_name(instance) not in ("integer", "number"):
        return None
    bounds = (
        ("minimum", lambda v, b: v >= b, "<"),
        ("maximum", lambda v, b: v <= b, ">"),
        ("exclusiveMinimum", lambda v, b: v > b, "<="),
        ("exclusiveMaximum", lambda v, b: v < b, ">="),
    )
    for key, holds, broken in bounds:
        if key in schema and not holds(instance, schema[key]):
            return f"{path}: {instance} {broken} {schema[key]} ({key})"
    return None


def _strings(instance: Any, schema: dict, path: str) -> str | None:
    if not isinstance(instance, str):
        return None
    if "minLength" in schema and len(instance) < schema["minLength"]:
        return f"{path}: shorter than {schema['minLength']} characters"
    if "maxLength" in schema and len(instance) > schema["maxLength"]:
        return f"{path}: longer than {schema['maxLength']} characters"
    if "pattern" in schema and not re.search(schema["pattern"], instance):
        return f"{path}: {instance!r} does not match /{schema['pattern']}/"
    return None


def _arrays(instance: Any, schema: dict, path: str) -> str | None:
    if not isinstance(instance, list):
        return None
    if "minItems" in schema and len(instance) < schema["minItems"]:
        return f"{path}: fewer than {schema['minItems']} items"
    if "maxItems" in schema and len(instance) > schema["maxItems"]:
        return f"{path}: more than {schema['maxItems']} items"
    if "items" in schema:
        for i, item in enumerate(instance):
            error = schema_error(item, schema["items"], f"{path}[{i}]")
            if error:
                return error
    return None


def _objects(instance: Any, schema: dict, path: str) -> str | None:
    if not isinstance(instance, dict):
        return None
    missing = [k for k in schema.get("required", []) if k not in instance]
    if missing:
        return f"{path}: missing required {', '.join(repr(k) for k in missing)}"
    properties = schema.get("properties", {})
    extra_schema = schema.get("additionalProperties", True)
    for key, value in instance.items():
        sub = properties.get(key, extra_schema)
        if sub is False and key not in properties:
            return f"{path}: unexpected property {key!r}"
        error = schema_error(value, sub, f"{path}.{key}")
        if error:
            return error
    return None


def _combinators(instance: Any, schema: dict, path: str) -> str | None:
    for sub in schema.get("allOf", []):
        error = schema_error(instance, sub, path)
        if error:
            return error
    if "anyOf" in schema and all(schema_error(instance, s, path) for s in schema["anyOf"]):
        return f"{path}: matches none of anyOf"
    if "oneOf" in schema:
        matches = sum(schema_error(instance, s, path) is None for s in schema["oneOf"])
        if matches != 1:
            return f"{path}: matches {matches} of oneOf, not exactly 1"
    if "not" in schema and schema_error(instance, schema["not"], path) is None:
        return f"{path}: matches a schema under 'not'"
    return None
