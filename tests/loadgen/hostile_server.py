"""Start tests/loadgen/hostile.py as a real process on loopback (plain or HTTPS), for loadgen and probe tests."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.loadgen.support import serve

SERVER = Path(__file__).with_name("hostile.py")


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (it is its own CA: the bundle to trust it) and its key."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True, capture_output=True, timeout=30,
    )
    return cert, key


class Hostile:
    def __init__(self, url: str) -> None:
        self.url = url

    def truth(self) -> dict[str, dict]:
        """Per request id: the server's own monotonic start and end of the response, and its mode (plain HTTP only)."""
        with urllib.request.urlopen(self.url + "/truth", timeout=5) as resp:
            return json.load(resp)


@contextmanager
def hostile_server(cert: tuple[Path, Path] | None = None) -> Iterator[Hostile]:
    with serve(SERVER, *([str(cert[0]), str(cert[1])] if cert else [])) as port:
        yield Hostile(f"{'https' if cert else 'http'}://127.0.0.1:{port}")
