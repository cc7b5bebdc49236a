"""Credentials out of URLs before anything is written, printed or put on a command line.

`http://user:secret@host/v1` -> `http://***@host/v1`. Used at the few output sites (results,
journal, console lines, plan files); children that need the real URL get it through their
environment, never argv (which every local user can read in /proc).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["redact_document", "redact_url"]

_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s?#]+@")


def redact_url(text: str) -> str:
    """Every `scheme://userinfo@` in `text` with its userinfo replaced by `***`."""
    return _USERINFO.sub(r"\g<scheme>***@", text)


def redact_document(value: Any) -> Any:
    """A copy of a JSON-like document with every string passed through `redact_url`."""
    if isinstance(value, dict):
        return {k: redact_document(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_document(v) for v in value]
    return redact_url(value) if isinstance(value, str) else value
