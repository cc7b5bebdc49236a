"""One probe run's outcome: the contract between probes, guards, scoring and reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from brownout.rundata.jsonl import read_objects

__all__ = ["ProbeResult", "load_probe_results"]


@dataclass(frozen=True)
class ProbeResult:
    probe: str          # probe name from the spec
    kind: str           # chat | golden | embeddings | rag | http | prometheus | kubernetes
    t: float            # run-clock seconds when the run started
    ok: bool
    latency: float | None  # seconds; None when it never got an answer
    reason: str         # "ok", or why it failed: "content check: ...", "timeout after 5s", ...
    value: float | None = None  # measured value where one exists (PromQL result, similarity, ready replicas)
    item: str | None = None     # golden probes: the item's id
    correct: bool | None = None  # golden probes: the answer passed every check; None when no answer came to judge

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_probe_results(path: Path) -> list[ProbeResult]:
    """Probe runs saved as JSON lines (`probes.jsonl`); a missing file is no runs, a truncated last line is skipped."""
    return read_objects(path, ProbeResult)
