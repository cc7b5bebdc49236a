"""A detached sandbox for a whole test module: runs attach to it, and faults on it outlive each run."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from brownout.sandbox import SandboxConfig, SandboxHandle, start_sandbox


@contextmanager
def detached_sandbox(workdir: Path, **config: Any) -> Iterator[SandboxHandle]:
    """Started once (like `brownout sandbox up`), always stopped: starting one per test costs more than the tests."""
    handle = start_sandbox(SandboxConfig(**config), workdir, detach=True)
    try:
        yield handle
    finally:
        handle.stop()
