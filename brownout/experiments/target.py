"""The target of one run, and what brownout puts around it.

The sandbox it starts (or attaches to) or the endpoint it is given, the health check,
the proxies faults act through (the embedded Toxiproxy-compatible proxy, the LLM-stream
fault proxy) and links routed through them. Everything started or changed here is
journaled, so `brownout recover` can undo it after a crash.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import httpx

from brownout.errors import TargetError
from brownout.experiments.console import fields_text
from brownout.experiments.journal import Journal, OpenFault
from brownout.http_options import MAX_REDIRECTS, HttpOptions
from brownout.experiments.signals import SignalGate
from brownout.spec.objectives import OutcomeRules, ServedBy
from brownout.faults.base import FaultContext, FaultDriver, FaultHandle
from brownout.faults.sandbox_links import LinkSpec, SandboxEmbedderLinkDriver, needs_embedder_link
from brownout.processes import pid_alive
from brownout.redact import redact_url

if TYPE_CHECKING:
    from brownout.experiments.loading import LoadedExperiment
    from brownout.faults.network.embedded.launch import EmbeddedProxy
    from brownout.faults.stream.launcher import StreamProxy
    from brownout.sandbox.handle import SandboxHandle

__all__ = ["SANDBOX_SERVED_BY", "TargetSession"]

SANDBOX_SERVED_BY = ServedBy(header="x-sandbox-region")
"""The sandbox's gateway names the serving region in this header: failover needs no configuration there."""


class TargetSession:
    def __init__(self, loaded: LoadedExperiment, out_dir: Path, journal: Journal, signals: SignalGate, log: Callable[..., None],
                 *, dry_run: bool) -> None:
        self.loaded = loaded
        self.spec = loaded.spec
        self.seed = loaded.spec.load.seed
        self.out_dir = out_dir
        self.journal = journal
        self.signals = signals
        self.log = log
        self.dry_run = dry_run
        self.sandbox: SandboxHandle | None = None        # when this run started (or attached to) the sandbox
        self.toxiproxy: EmbeddedProxy | None = None      # when no TOXIPROXY_URL was given
        self.stream_proxy: StreamProxy | None = None     # in front of the target for stream faults
        self.base_url = ""
        self.headers: dict[str, str] = {}
        self.context = FaultContext(seed=self.seed)
        self.links: list[tuple[OpenFault, FaultHandle]] = []   # routed through proxies; undone after the faults

    def outcome_rules(self) -> OutcomeRules:
        """The experiment's outcome rules with the primary model filled in, and who-served defaulted on the sandbox."""
        rules = self.spec.outcome.model_copy(update={"primary_model": self.spec.primary_model})
        if rules.served_by is None and self.spec.target.sandbox is not None:
            rules = rules.model_copy(update={"served_by": SANDBOX_SERVED_BY})
        return rules

    def open(self) -> None:
        """Resolve the target, start what faults act through, and fill the fault context."""
        target = self.spec.target
        if target.sandbox is not None and target.sandbox.attach:
            control = target.sandbox.attach.rstrip("/")
            try:
                state = httpx.get(f"{control}/sandbox/state", timeout=5.0).json()
            except (httpx.HTTPError, ValueError) as exc:
                raise TargetError(f"no sandbox answers at target.sandbox.attach {control}: {exc!r}") from exc
            self.base_url = state["gateway_url"]
            self.context = FaultContext(seed=self.seed, sandbox_control=control,
                                        toxiproxy_url=os.environ.get("TOXIPROXY_URL"))
            health_url = f"{self.base_url}/health"
        elif target.sandbox is not None:
            from brownout.sandbox import SandboxConfig, start_sandbox

            sb = target.sandbox
            config = SandboxConfig.from_target(sb, seed=self.seed)
            workdir = self.out_dir / "sandbox"
            self.log(f"starting sandbox ({sb.profile}, {len(sb.regions)} regions x {sb.replicas_per_region} replicas)")
            stop = {"kind": "sandbox", "workdir": str(workdir)}
            with self.signals.deferred():
                self.sandbox = start_sandbox(config, workdir, run_id=self.journal.run_id, on_spawn=self.journal.on_spawn(stop))
            state = self.sandbox.state()
            pids = [self.sandbox.supervisor_pid] + [c["pid"] for c in state.get("components", []) if c.get("pid")]
            self.journal.process_started("sandbox", pids, stop)
            self.base_url = self.sandbox.gateway_url
            self.context = FaultContext(seed=self.seed, sandbox_control=self.sandbox.control_url,
                                        toxiproxy_url=os.environ.get("TOXIPROXY_URL"))
            health_url = f"{self.base_url}/health"
        else:
            endpoint = target.endpoint
            self.base_url = endpoint.base_url.rstrip("/")
            self.headers = dict(endpoint.headers)
            self.context = FaultContext(seed=self.seed, toxiproxy_url=os.environ.get("TOXIPROXY_URL"))
            health_url = f"{self.base_url}{endpoint.health_path}"
        self.context = dataclasses.replace(
            self.context, base_dir=str(self.loaded.path.parent.resolve()), log_dir=str((self.out_dir / "faults").resolve()),
            declared_proxies=tuple((p.name, p.listen, p.upstream) for p in self.spec.proxies))
        self.start_toxiproxy()  # before the health check: the gateway may reach its upstreams only through them
        self.check_health(health_url)
        self.start_fault_proxies()
        endpoint = self.spec.target.endpoint
        self.context = dataclasses.replace(self.context, target_url=self.base_url, model=self.spec.target.model,
                                           api_key_env=endpoint.api_key_env if endpoint else None)

    def start_toxiproxy(self) -> None:
        """The embedded Toxiproxy-compatible proxy when a network fault or a declared proxy needs one and
        TOXIPROXY_URL names none; then the experiment's declared proxies on whichever Toxiproxy it is."""
        from brownout.faults.network import DeclaredProxyDriver
        from brownout.faults.network.embedded import start_embedded_proxy

        needed = self.spec.proxies or any(f.kind.startswith("network.") for f in self.spec.faults)
        if needed and not self.context.toxiproxy_url:
            with self.signals.deferred():
                self.toxiproxy = start_embedded_proxy(self.out_dir / "toxiproxy", run_id=self.journal.run_id,
                                                      on_spawn=self.journal.on_spawn())
            self.context = dataclasses.replace(self.context, toxiproxy_url=self.toxiproxy.url, toxiproxy_owned=True)
            self.log(f"embedded Toxiproxy-compatible API at {self.toxiproxy.url}")
        for declared in self.spec.proxies:
            driver = DeclaredProxyDriver(declared, self.context)
            self.set_up(driver, lambda d=driver: d.inject(d.prepare()))

    def start_fault_proxies(self) -> None:
        """Route sandbox links through Toxiproxy, and start the LLM-stream fault proxy when a stream fault needs it."""
        from brownout.faults.stream import stream_proxy_for

        if self.context.sandbox_control and needs_embedder_link(list(self.spec.faults)):
            link = SandboxEmbedderLinkDriver(LinkSpec(), self.context)
            self.set_up(link, lambda: link.ensure_proxy(link.prepare()))

        with self.signals.deferred():
            proxy = stream_proxy_for(self.spec.faults, self.base_url, self.out_dir / "stream-proxy",
                                     run_id=self.journal.run_id, on_spawn=self.journal.on_spawn())
        if proxy is None:
            return
        self.stream_proxy = proxy
        self.base_url = proxy.url
        self.context = dataclasses.replace(self.context, stream_proxy_control=proxy.control_url)
        self.log(f"stream fault proxy {proxy.url} in front of the target")

    def http_options(self) -> HttpOptions:
        """TLS and redirect settings of every client (load, probes, health check); `ca_bundle` from the file's folder."""
        endpoint = self.spec.target.endpoint
        if endpoint is None:
            return HttpOptions()
        bundle = str(self.loaded.path.parent / endpoint.ca_bundle) if endpoint.ca_bundle else None
        if bundle is not None and not Path(bundle).is_file():
            raise self.loaded.error_at("target.endpoint.ca_bundle", f"CA bundle {bundle} is not a readable file")
        return HttpOptions(endpoint.verify_tls, bundle, endpoint.follow_redirects)

    def header_templates(self) -> dict[str, str]:
        """The endpoint's headers as written in the file (`${VAR}` unresolved), for plans written to disk."""
        raw = self.loaded.raw_document.get("target", {}).get("endpoint") or {}
        return {str(k): str(v) for k, v in (raw.get("headers") or {}).items()}

    def set_up(self, link: FaultDriver, dry_run_step: Callable[[], Any]) -> None:
        """A real run routes through the proxy (journaled); a dry run only creates proxies, and only on
        our own embedded proxy, where creating one changes nothing of the target."""
        if not self.dry_run:
            self.route_through_proxy(link)
        elif self.toxiproxy is not None:
            dry_run_step()

    def route_through_proxy(self, link: FaultDriver) -> None:
        """Run set-up that changes the target (a link through Toxiproxy): journaled and undone like a fault."""
        handle = link.prepare()
        entry_id = f"setup:{link.spec.name}"
        self.links.append((self.journal.fault_intent(entry_id, handle.to_dict(), self.owned_urls()), handle))
        detail = link.inject(handle)
        self.journal.fault_applied(entry_id, detail, handle.to_dict())
        self.log(f"{link.spec.name}: {fields_text(detail)}")

    def auth_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        endpoint = self.spec.target.endpoint
        if endpoint is not None and endpoint.api_key_env:
            key = os.environ.get(endpoint.api_key_env)
            if not key:
                raise TargetError(f"environment variable {endpoint.api_key_env} (target.endpoint.api_key_env) is not set")
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def check_health(self, url: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                http = self.http_options()
                with httpx.Client(verify=http.ssl_context(), follow_redirects=http.follow_redirects,
                                  max_redirects=MAX_REDIRECTS, timeout=2.0) as client:
                    response = client.get(url, headers=self.auth_headers())
                if response.status_code < 400:
                    return
                last = f"status {response.status_code}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.3)
        raise TargetError(redact_url(f"target is not healthy: GET {url} -> {last} for {timeout:g}s"))

    def owned_urls(self) -> dict[str, list[str]]:
        """URLs of the helpers this run started, by journal name: a fault acting only on them dies with them."""
        owned = {
            "sandbox": [self.sandbox.control_url, self.sandbox.gateway_url, self.sandbox.embedder_url] if self.sandbox else [],
            "embedded-toxiproxy": [self.toxiproxy.url] if self.toxiproxy else [],
            "stream-proxy": [self.stream_proxy.url, self.stream_proxy.control_url] if self.stream_proxy else [],
        }
        return {name: urls for name, urls in owned.items() if urls}

    def dead_helpers(self) -> set[str]:
        """Journal names of the helpers this session started whose process is gone."""
        pids = {name: getattr(thing, "pid", None) or thing.supervisor_pid for name, thing in self.helpers()}
        return {name for name, pid in pids.items() if not pid_alive(pid)}

    def helpers(self) -> list[tuple[str, Any]]:
        """(journal name, process handle) of what this session started, in the order to stop them."""
        started = [("stream-proxy", self.stream_proxy), ("embedded-toxiproxy", self.toxiproxy), ("sandbox", self.sandbox)]
        return [(name, thing) for name, thing in started if thing is not None]

    def forget(self, name: str) -> None:
        """`name` was stopped: drop its handle."""
        attribute = {"stream-proxy": "stream_proxy", "embedded-toxiproxy": "toxiproxy", "sandbox": "sandbox"}[name]
        setattr(self, attribute, None)
