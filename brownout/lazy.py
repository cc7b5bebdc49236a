"""A kind -> class table whose modules are imported on first use.

Why: the Kubernetes client alone costs 2-3 s of CPU to import, and every `brownout run`,
`validate` and `recover` paid it although most runs never touch a cluster. The table
still names every class explicitly (no discovery); only the import waits.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

__all__ = ["LazyTable"]

T = TypeVar("T")


class LazyTable(Mapping[str, T], Generic[T]):
    """`{kind: "package.module:ClassName"}`, read as `{kind: ClassName}`.

    Each class must carry the same `kind` as its key; `check()` imports all and says
    where they disagree (the registries' tests call it).
    """

    def __init__(self, paths: Mapping[str, str]) -> None:
        self._paths = dict(paths)
        self._loaded: dict[str, T] = {}

    def __getitem__(self, kind: str) -> T:
        if kind not in self._loaded:
            module, _, name = self._paths[kind].partition(":")
            self._loaded[kind] = getattr(importlib.import_module(module), name)
        return self._loaded[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __contains__(self, kind: object) -> bool:
        return kind in self._paths

    def check(self) -> list[str]:
        """Entries whose class's `kind` is not their key (empty when the table is right)."""
        return [f"{kind}: {self._paths[kind]} has kind {getattr(self[kind], 'kind', None)!r}"
                for kind in self._paths if getattr(self[kind], "kind", None) != kind]
