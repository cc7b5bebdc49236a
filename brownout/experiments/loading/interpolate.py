"""${VAR} interpolation over a parsed document, with the bounds every text and number shares."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any, Mapping

from brownout.errors import SpecError
from brownout.experiments.loading.tree import FieldPath, Tree, format_field, nearest
from brownout.spec.interpolation import interpolate

__all__ = ["MAX_NUMBER", "interpolate_tree"]

MAX_NUMBER = 10**15
"""Any number in a file, whatever its field: larger ones are typos or attacks, and would overflow later."""


def interpolate_tree(value: Any, parts: FieldPath, env: Mapping[str, str], tree: Tree, errors: list[SpecError]) -> Any:
    """A copy of the document with ${VAR} resolved in every string value (keys are left alone), each
    text and number checked against the bounds every field shares."""
    if isinstance(value, dict):
        for key in value:
            _check_text(key, (*parts, key), tree, errors, [])
            if isinstance(key, str) and key.endswith("_env"):
                _check_env_name(value[key], (*parts, key), tree, errors)
        return {k: interpolate_tree(v, (*parts, k), env, tree, errors) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate_tree(v, (*parts, i), env, tree, errors) for i, v in enumerate(value)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not (math.isfinite(value) and abs(value) <= MAX_NUMBER):
            at = nearest(tree.values, format_field(parts))
            errors.append(tree.error(f"number out of range: brownout takes finite numbers up to {MAX_NUMBER:.0e}", at, parts))
        return value
    if not isinstance(value, str) or "${" not in value:
        _check_text(value, parts, tree, errors, [])
        return value
    text, problems = interpolate(value, env)
    at = nearest(tree.values, format_field(parts))
    errors += [tree.error(message, at, parts, hint) for message, hint in problems]
    names = sorted(set(_VARIABLE.findall(value)))
    if text != value:
        tree.from_env[format_field(parts)] = (text, names)
    _check_text(text, parts, tree, errors, names)
    return text


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def _check_env_name(value: Any, parts: FieldPath, tree: Tree, errors: list[SpecError]) -> None:
    """`*_env` fields name a variable; a value there is a secret pasted where its name belongs: never echoed."""
    if value is None or isinstance(value, str) and _ENV_NAME.fullmatch(value):
        return
    reference = _VARIABLE.match(value) if isinstance(value, str) else None
    hint = (f"write the variable's name, {reference.group(1)}, without ${{...}}" if reference
            else "e.g. OPENAI_API_KEY: letters, digits and '_', not starting with a digit")
    at = nearest(tree.values, format_field(parts))
    errors.append(tree.error(f"'{parts[-1]}' must name an environment variable, not hold a value (the value is not shown)",
                             at, parts, hint=hint))


def _check_text(value: Any, parts: FieldPath, tree: Tree, errors: list[SpecError], names: list[str]) -> None:
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
        at = nearest(tree.values, format_field(parts))
        errors.append(tree.error(f"{what} U+{ord(char):04X} at position {index + 1} is not allowed{source}", at, parts,
                                 hint="experiment text must be printable Unicode"))
        return

