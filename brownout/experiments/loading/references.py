"""Where an experiment may take files from, and what it took.

Fragments (`{include: path}`: a probe list, an SLO set, a fault list, a load
dataset) and data files (`DataFile` fields: datasets, golden sets, tokenizer
ranks) are read relative to the file that names them, and must stay inside the
repository root (the nearest folder above the experiment holding `.git`, else
the experiment's own folder) or a folder the user allowed (`--allow-path`,
`BROWNOUT_ALLOW_PATHS`). An experiment shared by someone else then cannot read
`~/.ssh` into a report.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["ALLOW_ENV", "INCLUDE_KEY", "INCLUDE_LISTS", "INCLUDE_MAPPINGS", "MAX_INCLUDE_DEPTH", "Reference", "Roots"]

INCLUDE_KEY = "include"
INCLUDE_LISTS = frozenset({"probes", "slos", "faults", "stop_conditions"})
"""Top-level lists whose items may be `{include: file}`: the file holds a list (spliced in) or one item."""
INCLUDE_MAPPINGS = frozenset({"load.dataset", "steady_state"})
"""Mappings that may be one `{include: file}` holding the mapping."""
MAX_INCLUDE_DEPTH = 8
ALLOW_ENV = "BROWNOUT_ALLOW_PATHS"
"""Extra folders files may come from, separated by the OS path separator (`:`)."""


@dataclass(frozen=True)
class Reference:
    """One file the experiment read: where it is named, as written, and where it resolved to."""

    field: str
    written: str
    path: Path
    kind: Literal["include", "data"]


@dataclass(frozen=True)
class Roots:
    """The folders referenced files may come from."""

    repository: Path
    allowed: tuple[Path, ...] = ()

    @classmethod
    def for_experiment(cls, experiment: Path, allowed: Iterable[Path] = (),
                       env: Mapping[str, str] | None = None) -> Roots:
        env = os.environ if env is None else env
        extra = [Path(p) for p in env.get(ALLOW_ENV, "").split(os.pathsep) if p]
        return cls(repository_root(experiment), tuple(p.resolve() for p in [*allowed, *extra]))

    def admits(self, path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved.is_relative_to(root) for root in (self.repository, *self.allowed))

    def refusal(self, written: str, path: Path) -> tuple[str, str]:
        """(message, hint) for a path outside every root."""
        return (f"'{written}' resolves to {path.resolve()}, outside the repository root {self.repository}",
                f"keep shared files in the repository, or allow the folder: --allow-path DIR (or {ALLOW_ENV})")


def repository_root(experiment: Path) -> Path:
    """The nearest folder above the experiment file that holds `.git`; else the file's own folder."""
    start = Path(experiment).resolve().parent
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def resolve(written: str, base: Path) -> Path:
    """`written` relative to `base`, normalised (`a/../b` -> `b`) so errors and results name the file plainly."""
    path = Path(written).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))
