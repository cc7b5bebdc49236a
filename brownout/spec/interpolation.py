"""`${VAR}` and `${VAR:-default}` in experiment values, resolved from the environment.

Shared by the loader (which reports unset variables as located errors) and by the
processes that need a secret at the moment they send it (the load generator
resolves header templates itself, so a secret never lands in a plan file).
"""

from __future__ import annotations

import re
from typing import Mapping

__all__ = ["interpolate"]

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_REFERENCE = re.compile(
    r"\$\$\{|\$\{(?P<name>" + _NAME + r")(?::-(?P<default>(?:[^}$]|\$(?!\{)|\$\{" + _NAME + r"(?::-[^}$]*)?\})*))?\}|\$\{"
)


def interpolate(text: str, env: Mapping[str, str]) -> tuple[str, list[tuple[str, str | None]]]:
    """`${VAR}`, `${VAR:-default}` (default when unset or empty), `$${` for a literal `${`.

    A default may itself hold references one level deep (`${A:-${B}}`, `${A:-${B:-x}}`),
    resolved the same way; anything deeper is a malformed reference, never a literal.
    """
    problems: list[tuple[str, str | None]] = []

    def replace(match: re.Match[str]) -> str:
        whole, name = match.group(0), match.group("name")
        if whole == "$${":
            return "${"
        if name is None:
            problems.append(("malformed variable reference", "write ${NAME} or ${NAME:-default}; $${ for a literal ${"))
            return whole
        value = env.get(name)
        if match.group("default") is not None and not value:
            default, inner = interpolate(match.group("default"), env)
            problems.extend(inner)
            return default
        if value is None:
            problems.append((f"environment variable '{name}' is not set", f"set it, or give a default: ${{{name}:-value}}"))
            return whole
        return value

    return _REFERENCE.sub(replace, text), problems
