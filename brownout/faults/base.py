"""The one small interface every fault kind implements.

Lifecycle, as the runner drives it (each step journaled *before* it runs):

    driver = DRIVERS[spec.kind](spec, context)
    driver.resolve()          -> Resolution   what a dry run prints; no side effects
    handle = driver.prepare() -> FaultHandle  picks targets, captures original state; no side effects
    journal.fault_intent(handle)              on disk before anything changes
    driver.inject(handle)                     applies the fault; may fail half-way
    journal.fault_applied(handle)             with the handle again: inject may have added to it (a pid)
    type(driver).rollback(handle)             undoes it; idempotent, safe after a partial inject
    journal.fault_undone(handle)

`rollback` needs nothing but the handle, so `brownout recover` can undo a fault
from another process after the runner was SIGKILLed. Handles are JSON.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

__all__ = ["FaultContext", "FaultDriver", "FaultHandle", "Resolution", "ResolvedTarget"]


@dataclass(frozen=True)
class ResolvedTarget:
    """One thing a fault would hit: a process, pod, proxy, deployment, node or region."""

    kind: str
    name: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Resolution:
    """What a fault would do, for `--dry-run` and the report."""

    fault: str
    kind: str
    action: str                        # one line: "SIGKILL 1 of 4 replicas in us-east"
    targets: list[ResolvedTarget]      # what would be hit
    candidates: int                    # how many matched before selection

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FaultHandle:
    """Everything needed to undo a fault, serializable into the journal."""

    fault: str
    kind: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"fault": self.fault, "kind": self.kind, "data": self.data}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "FaultHandle":
        return cls(fault=raw["fault"], kind=raw["kind"], data=dict(raw["data"]))


@dataclass(frozen=True)
class FaultContext:
    """Where faults act. Filled by the runner from the resolved target."""

    seed: int = 42
    target_url: str | None = None        # base URL the load hits (after any fault proxy)
    model: str | None = None             # primary model name of the target
    api_key_env: str | None = None       # env var holding the target's API key (the key never enters a handle)
    sandbox_control: str | None = None   # base URL of the sandbox supervisor's control API
    toxiproxy_url: str | None = None      # Toxiproxy (or embedded proxy) REST API
    toxiproxy_owned: bool = False         # the run's own embedded proxy: its proxies die with it
    declared_proxies: tuple[tuple[str, str, str], ...] = ()  # the experiment's `proxies:` (name, listen, upstream)
    kube_context: str | None = None       # default kubeconfig context
    stream_proxy_control: str | None = None  # control URL of the LLM-stream fault proxy
    base_dir: str | None = None          # folder of the experiment file: relative pid files and cwds resolve here
    log_dir: str | None = None           # where faults write their logs (command output), in the run's out dir


class FaultDriver(ABC):
    """Base of every fault kind. Subclasses set `kind` to their spec's `kind` literal."""

    kind: ClassVar[str]

    def __init__(self, spec: Any, context: FaultContext) -> None:
        self.spec = spec
        self.context = context

    @abstractmethod
    def resolve(self) -> Resolution:
        """What would be hit, without side effects. Raises InjectError/RefusedError."""

    @abstractmethod
    def prepare(self) -> FaultHandle:
        """Pick targets and capture how to undo; no side effects."""

    @abstractmethod
    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        """Apply the fault. Returns details for the timeline (what was hit, ids)."""

    @classmethod
    @abstractmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        """Undo the fault using only the handle. Idempotent; safe after a partial inject."""

    @classmethod
    def wait_ready(cls, handle: FaultHandle, timeout: float) -> float | None:
        """Epoch time when what the fault hit is ready again (the recovery event).

        None when it did not become ready within `timeout`, or when this kind
        cannot tell (the default).
        """
        return None

    def describe(self) -> str:
        """One line for logs and reports."""
        return f"{self.kind} '{self.spec.name}'"
