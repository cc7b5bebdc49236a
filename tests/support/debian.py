"""Installing a Debian package a test needs (Prometheus, Chromium), safely from parallel test workers."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["find_or_install"]

_LOCK = Path("/tmp/brownout-tests-apt.lock")
_ENV = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}


def find_or_install(binary: str, package: str) -> str | None:
    """The binary's path, installing `package` with apt-get when it is missing; None when impossible
    (no apt-get, not root, no archive). One install at a time: dpkg has a single lock."""
    found = shutil.which(binary)
    if found or shutil.which("apt-get") is None or os.geteuid() != 0:
        return found
    with _LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = shutil.which(binary)  # another worker may have installed it while we waited
        if found:
            return found
        install = ["apt-get", "install", "-y", "--no-install-recommends", package]
        if subprocess.run(install, env=_ENV, capture_output=True, timeout=900, check=False).returncode != 0:
            subprocess.run(["apt-get", "update"], env=_ENV, capture_output=True, timeout=600, check=False)
            subprocess.run(install, env=_ENV, capture_output=True, timeout=900, check=False)
    return shutil.which(binary)
