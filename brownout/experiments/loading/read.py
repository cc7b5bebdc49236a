"""Reading an experiment file: a regular, size-capped, UTF-8 file, or a located error."""

from __future__ import annotations

import stat
from pathlib import Path

from brownout.errors import SpecError, SpecErrors

__all__ = ["MAX_BYTES", "read_text"]

MAX_BYTES = 1 << 20
"""Experiment files are small; anything bigger is a mistake (or an attack) and is refused unread."""


def read_text(path: Path) -> str:
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

