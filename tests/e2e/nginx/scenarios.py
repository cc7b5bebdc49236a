"""The runs the failover tests judge: upstream A down, or both primaries down, behind nginx."""

from __future__ import annotations

from tests.e2e.nginx import specs
from tests.e2e.nginx.runs import Run, Runner
from tests.e2e.nginx.stack import Stack

__all__ = ["a_down", "both_down"]


def a_down(runs: Runner, stack: Stack, gateway: str, served_by: dict | None) -> Run:
    """Proxy upstream-a refuses connections 1-5 s into the 6 s fault phase (region us-east down)."""
    nginx = getattr(stack, gateway)
    key = f"a-down-{gateway}" + ("" if served_by else "-no-served-by")
    return runs.run(key, specs.experiment(
        key, nginx.url, faults=[specs.proxy_down("upstream-a", "us-east")], slos=[specs.AVAILABILITY],
        served_by=served_by,
    ), nginx)


def both_down(runs: Runner, stack: Stack) -> Run:
    """Both primaries refuse for 4 s of the fault phase: only nginx's backup server C (model small) answers."""
    return runs.run("both-down", specs.experiment(
        "both-primaries-down", stack.resilient.url,
        faults=[specs.proxy_down("upstream-a", "us-east"), specs.proxy_down("upstream-b", "eu-west")],
        slos=[
            specs.AVAILABILITY,
            # The fallback must be what answered while both primaries were away (4 s of 6)...
            {"name": "fallback-answered", "metric": "degraded_rate", "phase": "fault", "op": ">=", "threshold": "25%",
             "severity": "minor"},
            # ...and nothing degraded once they are back.
            {"name": "primaries-again", "metric": "degraded_rate", "phase": "recovery", "op": "<=", "threshold": "5%"},
        ],
        served_by=specs.FIELD_SERVED_BY,
    ), stack.resilient)
