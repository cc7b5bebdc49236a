"""The JSON Schema of experiment files, for editors (`brownout schema`).

It describes files as they are written, not the models they become: unit values are
strings (`2s`, `95%`, `16GiB`), any scalar may be a `${VAR}` / `${VAR:-default}` template
(the loader resolves those before validation), definition names read like the YAML, and
every property carries a description. Whatever the loader accepts validates here; the
tests hold the catalogue to that with the `jsonschema` library.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue

from brownout.experiments.loading.references import INCLUDE_KEY, INCLUDE_LISTS, INCLUDE_MAPPINGS
from brownout.spec import API_VERSION, Experiment

__all__ = ["SCHEMA_ID", "TEMPLATE", "experiment_json_schema"]

SCHEMA_ID = "https://brownout.dev/schemas/experiment/v1.json"

TEMPLATE: dict[str, Any] = {
    "type": "string",
    "pattern": r"\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}",
    "description": "An environment variable, resolved when the file is loaded: ${NAME} or ${NAME:-default}.",
}

_GENERIC = re.compile(r"^(?P<base>[A-Za-z]+)_(?P<param>.+)_$")
_GENERIC_PARAMS = {"int": "Users", "Annotated_float": "Rate"}
"""Load shapes are generic over their level: closed-loop users (int) or an open-loop rate."""

_KEYWORDS_KEPT_OUTSIDE = ("description", "default", "title", "examples")


def experiment_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of experiment files, descriptions taken from the models' fields."""
    schema = Experiment.model_json_schema(schema_generator=_FileSchema, mode="validation")
    schema["title"] = f"brownout experiment ({API_VERSION})"
    schema = _rename_definitions(schema)
    _describe_properties(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            **_allow_includes(_allow_templates(schema))}


_INCLUDE = {
    "type": "object",
    "description": "Take this from another file (path relative to the file that names it): a list file's items are "
                   "spliced in, a mapping file is the value.",
    "properties": {INCLUDE_KEY: {"type": "string", "description": "Path of the fragment file."}},
    "required": [INCLUDE_KEY],
    "additionalProperties": False,
}


def _allow_includes(schema: dict[str, Any]) -> dict[str, Any]:
    """`{include: file}` where the loader takes it: items of the includable lists, and the includable mappings."""
    schema.setdefault("$defs", {})["Include"] = _INCLUDE
    ref = {"$ref": "#/$defs/Include"}

    def either(value: dict[str, Any]) -> dict[str, Any]:
        inner = {k: v for k, v in value.items() if k != "description"}
        return {**({"description": value["description"]} if "description" in value else {}), "anyOf": [inner, ref]}

    for name in INCLUDE_LISTS:
        prop = schema["properties"][name]
        prop["items"] = either(prop["items"])
    for dotted in INCLUDE_MAPPINGS:
        *parents, last = dotted.split(".")
        holder = schema
        for part in parents:
            holder = schema["$defs"][holder["properties"][part]["$ref"].rsplit("/", 1)[1]]
        holder["properties"][last] = either(holder["properties"][last])
    return schema


class _FileSchema(GenerateJsonSchema):
    """Unit defaults as files spell them (`2s`, `16GiB`); validators that take unit text say so."""

    def default_schema(self, schema: Any) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        serialization = schema["schema"].get("serialization") or {}
        if "default" in json_schema and serialization.get("type") == "function-plain":
            json_schema["default"] = serialization["function"](schema["default"])
        return json_schema

    def function_before_schema(self, schema: Any) -> JsonSchemaValue:
        accepts = getattr(schema["function"]["function"], "accepts_json", None)
        inner = self.generate_inner(schema["schema"])
        return {"anyOf": [inner, *accepts]} if accepts else inner


def _readable(name: str) -> str:
    match = _GENERIC.match(name)
    if not match:
        return name
    param = next((label for prefix, label in _GENERIC_PARAMS.items() if match["param"].startswith(prefix)), None)
    return match["base"] + param if param else name


def _rename_definitions(schema: dict[str, Any]) -> dict[str, Any]:
    """`RampShape_Annotated_float__BeforeValidator_...` (pydantic's generic names) -> `RampShapeRate`."""
    names = {old: _readable(old) for old in schema.get("$defs", {})}
    if len(set(names.values())) != len(names):
        raise AssertionError(f"two schema definitions would share a name: {names}")

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                    value = "#/$defs/" + names[value.removeprefix("#/$defs/")]
                elif key == "mapping" and isinstance(value, dict):
                    value = {k: "#/$defs/" + names[v.removeprefix("#/$defs/")] for k, v in value.items()}
                elif key == "$defs":
                    value = {names[k]: v for k, v in value.items()}
                out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(schema)


def _describe_properties(schema: dict[str, Any]) -> None:
    """A property without a description of its own borrows its definition's (for `$ref`s) or,
    for a union's `kind`, names the choice."""
    definitions = schema.get("$defs", {})
    for holder in [schema, *definitions.values()]:
        for name, prop in holder.get("properties", {}).items():
            if prop.get("description"):
                continue
            if "const" in prop:
                prop["description"] = f"Selects this {holder.get('title', 'variant')}: `{name}: {prop['const']}`."
            elif "$ref" in prop:
                target = definitions[prop["$ref"].removeprefix("#/$defs/")]
                prop["description"] = target.get("description") or target.get("title", name)


def _templatable(node: dict[str, Any]) -> bool:
    """A scalar whose file form a `${VAR}` string would fail: numbers, booleans, enums, patterned text."""
    if "const" in node:
        return False
    if "anyOf" in node:
        return any(isinstance(m, dict) and _templatable(m) for m in node["anyOf"])
    kind = node.get("type")
    return kind in ("number", "integer", "boolean") or "enum" in node or (kind == "string" and "pattern" in node)


def _allow_templates(node: Any, *, wrap: bool = True) -> Any:
    """Every templatable scalar, or union of scalars, also accepts TEMPLATE (once per union)."""
    if isinstance(node, list):
        return [_allow_templates(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "$defs"):
            out[key] = {name: _allow_templates(item) for name, item in value.items()}
        elif key == "anyOf":
            out[key] = [_allow_templates(item, wrap=False) for item in value]
        else:
            out[key] = _allow_templates(value)
    if not wrap or not _templatable(out):
        return out
    if "anyOf" in out:
        return {**out, "anyOf": [*out["anyOf"], TEMPLATE]}
    outside = {k: out.pop(k) for k in _KEYWORDS_KEPT_OUTSIDE if k in out}
    return {**outside, "anyOf": [out, TEMPLATE]}
