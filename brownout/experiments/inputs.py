"""Keep the exact files a run used: every fragment and data file the experiment named, copied and hashed.

A dataset edited after the run cannot change what its report says it measured:
the copy under `<run>/inputs/` and its sha256 in the results are what was read.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable
from pathlib import Path

from brownout.experiments.loading import Reference
from brownout.rundata.run import INPUTS_DIR, InputFile

__all__ = ["MAX_COPY", "save_inputs"]

MAX_COPY = 64 << 20
"""Larger files are hashed, not copied (a multi-GB capture stays where it is)."""


def save_inputs(references: Iterable[Reference], run_dir: Path) -> list[InputFile]:
    saved = []
    for n, ref in enumerate(references):
        digest, size = _sha256(ref.path)
        kept = None
        if size <= MAX_COPY:
            relative = Path(INPUTS_DIR) / f"{n:02d}-{ref.path.name}"
            (run_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ref.path, run_dir / relative)
            kept = str(relative)
        saved.append(InputFile(field=ref.field, written=ref.written, kind=ref.kind, sha256=digest, bytes=size, kept=kept))
    return saved


def _sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
