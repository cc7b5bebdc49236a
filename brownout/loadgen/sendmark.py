"""When a request actually goes out: the `t_send` of shared/metrics.md.

geventhttpclient can yield to the gevent hub between `client.post(...)` and
the write: while it connects, and when it checks a pooled keep-alive
connection with a zero-timeout `select`, which gevent turns into a reschedule
behind every ready greenlet. A mark taken before the call was early by that
much (bench/loadgen.py: +2.1 ms mean, 6.5 ms p99 at 20 concurrent streams).
So the connection pool's `get_socket` is wrapped: the time a socket is handed
over, connected and checked, is the time the request bytes go out, with no
yield in between. (A request larger than the socket buffer is still being
written after that; its upload time counts in TTFT, as a user would feel it.)
This reaches into geventhttpclient's `HTTPClient._connection_pool` (2.6);
tests/loadgen/test_sendmark.py fails if that stops working.
"""

from __future__ import annotations

import time
from typing import Any
from weakref import WeakKeyDictionary

import gevent

__all__ = ["SendMarks"]


class SendMarks:
    """When each greenlet's last request through a FastHttpSession to `base_url`'s host went out.

    Kept by greenlet, not by socket: a short response can be read whole with
    its headers, and its socket is back in the pool before `post` returns.
    """

    def __init__(self, session: Any, base_url: str) -> None:
        self._sent: WeakKeyDictionary[Any, float] = WeakKeyDictionary()
        pool = session.client.clientpool.get_client(base_url)._connection_pool
        get_socket = pool.get_socket

        def get_marked_socket() -> Any:
            sock = get_socket()
            self._sent[gevent.getcurrent()] = time.monotonic()
            return sock

        pool.get_socket = get_marked_socket

    def take(self) -> float | None:
        """time.monotonic() when the current greenlet's request went out since the last take(); None if none did.

        None also when the request failed before it had a connection, or went
        to another host (a redirect): the caller keeps its own earlier mark.
        """
        return self._sent.pop(gevent.getcurrent(), None)
