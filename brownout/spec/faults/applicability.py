"""Which faults can act on which target: a fault that cannot is a validation error, not a run-time surprise.

Pure: the validated experiment in, (field path, message, hint) out; the loader
locates each by file and line.
"""

from __future__ import annotations

from typing import Any

from brownout.spec.faults.network import EMBEDDER_PROXY

__all__ = ["misplaced_faults"]



def misplaced_faults(experiment: Any) -> list[tuple[str, str, str | None]]:
    """Faults that cannot act on the experiment's target kind."""
    on_sandbox = experiment.target.sandbox is not None
    out = []
    for index, fault in enumerate(experiment.faults):
        where = f"faults[{index}]"
        if fault.kind.startswith("sandbox.") and not on_sandbox:
            out.append((f"{where}.kind", f"fault '{fault.name}' ({fault.kind}) acts on the embedded sandbox, and the "
                        "target is an endpoint",
                        "against an endpoint use process.*, command, network.* (declare the proxies under `proxies:`) "
                        "or kubernetes.* faults"))
        elif fault.kind.startswith("kubernetes.") and on_sandbox and fault.context is None and fault.api_url is None:
            out.append((f"{where}.kind", f"fault '{fault.name}' ({fault.kind}) needs a cluster, and the sandbox "
                        "target runs none", "name the cluster with `context` (a kubeconfig context) or `api_url`"))
        elif fault.kind.startswith("network.") and getattr(fault, "proxy", None) == EMBEDDER_PROXY and not on_sandbox:
            out.append((f"{where}.proxy", f"fault '{fault.name}': the proxy '{EMBEDDER_PROXY}' is the sandbox's "
                        "embedding link, and the target is an endpoint", "declare a proxy under `proxies:` and name it"))
    return out
