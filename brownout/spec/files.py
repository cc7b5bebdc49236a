"""Files an experiment refers to: datasets, golden sets, tokenizer ranks, included fragments.

A field typed `DataFile` holds a path relative to the experiment file. The loader
finds every such field (`data_files`), refuses one that leaves the repository
root unless allowed, and the run keeps a copy of the exact content it used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel

__all__ = ["DATA_FILE", "DataFile", "data_files"]


class _DataFileMarker:
    """Annotation marker; compared by identity."""

    def __repr__(self) -> str:
        return "DATA_FILE"


DATA_FILE = _DataFileMarker()
DataFile = Annotated[str, DATA_FILE]
"""A path, relative to the experiment file (absolute paths are taken as they are)."""


def data_files(model: Any, parts: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(field path, value) of every `DataFile` field set in a validated spec, in field order."""
    if isinstance(model, BaseModel):
        for name, info in type(model).model_fields.items():
            value = getattr(model, name)
            key = info.alias or name
            if any(m is DATA_FILE for m in info.metadata) and isinstance(value, str):
                yield (*parts, key), value
            else:
                yield from data_files(value, (*parts, key))
    elif isinstance(model, (list, tuple)):
        for index, item in enumerate(model):
            yield from data_files(item, (*parts, index))
    elif isinstance(model, dict):
        for key, item in model.items():
            yield from data_files(item, (*parts, key))
