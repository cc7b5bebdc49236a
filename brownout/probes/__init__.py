"""Synthetic probes: small checks of the target run on their own interval, outside the load.

Each kind is one module with a `ProbeCheck` subclass; `ProbeRunner` runs them in a
background thread with its own asyncio loop. Results: `ProbeResult`.
"""

from brownout.probes.base import CheckFailed, ProbeCheck
from brownout.probes.prometheus import instant_query
from brownout.probes.registry import CHECKS, build_check
from brownout.rundata.probes import ProbeResult
from brownout.probes.runner import ProbeRunner
from brownout.probes.target import ProbeTarget

__all__ = [
    "CHECKS",
    "CheckFailed",
    "ProbeCheck",
    "ProbeResult",
    "ProbeRunner",
    "ProbeTarget",
    "build_check",
    "instant_query",
]
