"""Prometheus text exposition for the sandbox components, without a client library.

Each component owns its `Registry` (kept on its aiohttp app, never global) and
renders it on `/metrics`; gauges are read through callables at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Registry"]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{v}"' for k, v in labels)
    return "{" + inner + "}"


@dataclass
class Registry:
    """Counters (labelled) and gauges (sampled on render) of one process."""

    counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = field(default_factory=dict)
    gauges: dict[str, Callable[[], float]] = field(default_factory=dict)
    help: dict[str, str] = field(default_factory=dict)

    def counter(self, name: str, help_text: str) -> None:
        self.counters.setdefault(name, {})
        self.help[name] = help_text

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self.gauges[name] = read
        self.help[name] = help_text

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        series = self.counters.setdefault(name, {})
        key = tuple(sorted(labels.items()))
        series[key] = series.get(key, 0.0) + amount

    def render(self) -> str:
        lines: list[str] = []
        for name, series in self.counters.items():
            lines += [f"# HELP {name} {self.help.get(name, name)}", f"# TYPE {name} counter"]
            lines += [f"{name}{_labels(k)} {_number(v)}" for k, v in sorted(series.items())]
        for name, read in self.gauges.items():
            lines += [f"# HELP {name} {self.help.get(name, name)}", f"# TYPE {name} gauge", f"{name} {_number(read())}"]
        return "\n".join(lines) + "\n"
