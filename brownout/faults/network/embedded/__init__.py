"""An embedded, Toxiproxy 2.x-compatible TCP proxy, for runs where no Toxiproxy is installed.

It speaks Toxiproxy's REST API (so toxiproxy-python, the Go client and curl
work unchanged) and runs the latency, bandwidth, slow_close, timeout,
reset_peer, slicer and limit_data toxics on real sockets. Unlike Toxiproxy it
undoes brownout's faults by itself when their `brownout_expires_at` passes
(see model.py).
"""

from brownout.faults.network.embedded.launch import EmbeddedProxy, start_embedded_proxy

__all__ = ["EmbeddedProxy", "start_embedded_proxy"]
