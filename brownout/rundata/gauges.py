"""One sampled infrastructure gauge value (GPU memory, KV-cache usage, queue depth): a line of `metrics.jsonl`.

The metric sampler (`brownout.probes.metrics_sampler`) writes them; scoring reads them to chart the gauges.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Sample"]


@dataclass(frozen=True)
class Sample:
    t: float                    # run-clock seconds when the scrape started
    endpoint: str
    metric: str
    labels: dict[str, str]
    value: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
