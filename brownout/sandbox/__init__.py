"""The embedded sandbox: a local multi-process reference AI stack brownout starts itself.

    supervisor (control API) ── restarts ──┬─ llm-<region>-<i>  LLM replicas (continuous batching, GPU memory)
                                           ├─ llm-fallback-0    the smaller fallback model
                                           ├─ embedder          OpenAI embeddings
                                           └─ gateway           OpenAI API + /v1/rag, routing per profile

A realistic target rather than a mock: every component is its own process on
127.0.0.1 speaking real HTTP, and faults kill, shrink or slow real processes.
The harness uses only this module's API.
"""

from brownout.sandbox.config import SandboxConfig
from brownout.sandbox.gateway import DEGRADED_HEADER
from brownout.sandbox.handle import (
    SandboxHandle,
    find_running,
    log_tail,
    start_sandbox,
    stop_from_state_file,
)

__all__ = [
    "DEGRADED_HEADER",
    "SandboxConfig",
    "SandboxHandle",
    "find_running",
    "log_tail",
    "start_sandbox",
    "stop_from_state_file",
]
