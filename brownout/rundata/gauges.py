"""One sampled infrastructure gauge value (GPU memory, KV-cache usage, queue depth): a line of `metrics.jsonl`.

The metric sampler (`brownout.probes.metrics_sampler`) writes them; scoring reads them to chart the gauges.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from brownout.rundata.jsonl import read_objects

__all__ = ["Sample", "load_samples"]


@dataclass(frozen=True)
class Sample:
    t: float                    # run-clock seconds when the scrape started
    endpoint: str
    metric: str
    labels: dict[str, str]
    value: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_samples(path: Path) -> list[Sample]:
    """The samples of a saved `metrics.jsonl` (scrape-failure lines and a truncated last line skipped)."""
    return read_objects(path, Sample)
