"""`python -m brownout.faults.network.embedded --port P`: run the embedded Toxiproxy-compatible proxy."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
from pathlib import Path

from brownout.faults.network.embedded.server import serve
from brownout.processes import become_child


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m brownout.faults.network.embedded", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="API address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8474, help="API port; 0 picks a free one (default 8474, as Toxiproxy)")
    parser.add_argument("--ready-file", type=Path, help="write {url, pid} here once the API listens")
    parser.add_argument("--parent-pid", type=int, help="exit when this process dies (default: the parent)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    become_child("embedded-toxiproxy", parent_pid=args.parent_pid)
    asyncio.run(serve(args.host, args.port, lambda url: _ready(args.ready_file, url)))


def _ready(path: Path | None, url: str) -> None:
    """Tell the parent where the API listens: written aside and renamed, so it never reads half a file."""
    if path is not None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"url": url, "pid": os.getpid()}))
        tmp.replace(path)


if __name__ == "__main__":
    main()
