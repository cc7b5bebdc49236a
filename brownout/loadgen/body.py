"""Read a response body as it arrives: lines in time linear in the bytes, bounded memory, a hard deadline.

geventhttpclient's `readline` rescans its whole buffer after every 4 KiB `recv`
(quadratic in a line's length: 5.9 s of CPU for one 40 MiB event) and never
yields while the socket has data, so a gevent.Timeout could not fire until a
huge event was read. This reader pulls blocks from the response's socket
itself (geventhttpclient 2.6 `HTTPSocketResponse._sock`, `feed`,
`_body_buffer`: tests/loadgen/test_hostile.py fails if that stops working),
scans only the new bytes for the line end, checks the deadline after every
block, yields to the other greenlets every YIELD_EVERY bytes, and refuses a
line (or a whole non-streamed body) longer than `max_size`.

A `gzip` or `deflate` Content-Encoding (sent despite `Accept-Encoding:
identity`) is decoded incrementally, so events keep their arrival times; any
other encoding is refused up front.
"""

from __future__ import annotations

import time
import zlib
from typing import Any

import gevent
from geventhttpclient.response import HTTPConnectionClosed

__all__ = ["BLOCK", "BodyReader", "OversizedEvent", "RequestDeadline", "UnsupportedEncoding"]

BLOCK = 64 * 1024            # bytes asked of the socket at a time
YIELD_EVERY = 1024 * 1024    # bytes read without waiting before other greenlets get a turn
_DECODE_STEP = 1024 * 1024   # most decoded bytes produced from one compressed block at a time


class RequestDeadline(Exception):
    """The whole request took longer than the load's timeout."""


class OversizedEvent(Exception):
    """One SSE event (or a non-streamed body) is larger than `load.max_event_size`."""


class UnsupportedEncoding(Exception):
    """The response is compressed with an encoding the reader cannot decode incrementally."""


def _flavour(encoding: str | None) -> str | None:
    """The zlib flavour of a Content-Encoding: None for none, "gzip" or "deflate"; refuses the others."""
    name = (encoding or "identity").strip().lower()
    if name in ("", "identity"):
        return None
    if name in ("gzip", "x-gzip"):
        return "gzip"
    if name == "deflate":
        return "deflate"
    raise UnsupportedEncoding(f"Content-Encoding {encoding!r} is not supported (gzip and deflate are)")


def _wbits(flavour: str, head: bytes) -> int:
    """gzip: 31. deflate: a zlib stream (RFC 1950, what the RFC means) or, as some servers send, raw deflate."""
    if flavour == "gzip":
        return 31
    zlib_wrapped = len(head) >= 2 and head[0] & 0x0F == 8 and int.from_bytes(head[:2], "big") % 31 == 0
    return 15 if zlib_wrapped else -15


class BodyReader:
    """Lines (`line()`) or the whole body (`body()`) of one geventhttpclient response."""

    def __init__(self, raw: Any, deadline: float, max_size: int, encoding: str | None = None) -> None:
        self._raw = raw
        self._deadline = deadline      # time.monotonic() by which the request must be complete
        self._max = max_size
        try:
            self._encoding = _flavour(encoding)
        except UnsupportedEncoding:
            raw.release()  # the connection is not read to its end: close it, never reuse it
            raise
        self._inflate: Any = None      # zlib decompressor, made from the first compressed bytes
        self._buf = bytearray()
        self._scan = 0                 # bytes of _buf already searched for a line end
        self._eof = False
        self._unread = 0               # bytes read since the last yield
        self.received = 0              # body bytes received (decoded)

    def line(self) -> bytes:
        """The next line with its b"\\n"; what is left without one at the end; b"" once the body is over."""
        buf = self._buf
        while True:
            end = buf.find(b"\n", self._scan)
            if end >= 0:
                line = bytes(buf[: end + 1])
                del buf[: end + 1]
                self._scan = 0
                return line
            self._scan = len(buf)
            if self._scan > self._max:
                raise self._refuse(OversizedEvent(f"an SSE event over {self._max} bytes (load.max_event_size)"))
            if self._eof:
                line = bytes(buf)
                buf.clear()
                self._scan = 0
                return line
            self._fill()

    def body(self) -> bytes:
        """The whole (non-streamed) body."""
        while not self._eof:
            self._fill()
            if len(self._buf) > self._max:
                raise self._refuse(OversizedEvent(f"a response body over {self._max} bytes (load.max_event_size)"))
        data = bytes(self._buf)
        self._buf.clear()
        return data

    def rest(self, grace: float) -> tuple[int, bool]:
        """After the stream's end ([DONE]): (non-blank bytes still sent, whether the response ended) within `grace` s.

        What comes after is counted and thrown away, never parsed.
        """
        extra = len(bytes(self._buf).strip())
        self._buf.clear()
        with gevent.Timeout(grace, False):
            while not self._eof:
                self._fill()
                extra += len(bytes(self._buf).strip())
                self._buf.clear()
        if not self._eof:
            self._raw.release()  # an unfinished response: its connection is closed, never reused
        return extra, self._eof

    def _refuse(self, exc: Exception) -> Exception:
        """`exc`, after closing the connection: a body not read to its end must never be reused."""
        self._buf.clear()
        self._raw.release()
        return exc

    def _fill(self) -> None:
        data = self._pull() if self._encoding is None else self._decode()
        self.received += len(data)
        self._buf += data

    def _decode(self) -> bytes:
        """Decoded bytes, at most _DECODE_STEP from one call (a small block may inflate enormously)."""
        inflate = self._inflate
        if inflate is not None and inflate.unconsumed_tail:
            source = inflate.unconsumed_tail
        else:
            source = self._pull()
            if not source:  # nothing new yet, or the end
                return inflate.flush() if self._eof and inflate is not None else b""
        try:
            if inflate is None:
                assert self._encoding is not None
                inflate = self._inflate = zlib.decompressobj(_wbits(self._encoding, source))
            return inflate.decompress(source, _DECODE_STEP)
        except zlib.error as exc:
            raise self._refuse(UnsupportedEncoding(f"{self._encoding} body could not be decoded: {exc}")) from exc

    def _pull(self) -> bytes:
        """The next body bytes, as they come; b"" (and eof) when the response is complete."""
        raw = self._raw
        pending = raw._body_buffer
        if pending:
            data = bytes(pending)
            del pending[:]
            return data
        if raw.message_complete:
            self._eof = True
            return b""
        sock = raw._sock
        if sock is None:
            raise HTTPConnectionClosed("connection closed before the end of the body")
        if time.monotonic() > self._deadline:
            raise RequestDeadline("no complete response within the request timeout")
        if self._unread >= YIELD_EVERY:
            self._unread = 0
            gevent.sleep(0)  # let the request's gevent.Timeout and the other greenlets run
        try:
            data = sock.recv(BLOCK)
            raw.feed(data)
        except BaseException:
            raw.release()
            raise
        if not data and not raw.message_complete:
            raw.release()
            raise HTTPConnectionClosed("connection closed before the end of the body")
        self._unread += len(data)
        data = bytes(pending)
        del pending[:]
        if raw.message_complete and not data:
            self._eof = True
        return data
