"""The sandbox supervisor: starts every component, restarts the dead, serves the control API.

`python -m brownout.sandbox.supervisor --config JSON --port N --workdir DIR [--detach]`

Like a ReplicaSet it restarts any component that exits (the restarted replica
cold-starts), except what was stopped on purpose (a region taken down). Faults
act through its HTTP control API; every call is idempotent. On SIGTERM it stops
all children; children also die with it (`die_with_parent`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp
from aiohttp import web

from brownout.processes import child_env, free_port, python_command
from brownout.sandbox.config import SandboxConfig
from brownout.sandbox.server import HOST, serve
from brownout.sandbox.wire import IDENTITY_HEADER

__all__ = ["STATE_FILE", "Component", "build_app", "main", "plan_components"]

log = logging.getLogger("brownout.sandbox.supervisor")

STATE_FILE = "sandbox.json"
RESTART_DELAY = 0.2
READY_POLL = 0.1
STOP_GRACE = 2.0
SIGNAL_WAIT = 5.0
Role = Literal["replica", "fallback", "embedder", "gateway"]
_MODULES: dict[Role, str] = {
    "replica": "brownout.sandbox.replica",
    "fallback": "brownout.sandbox.replica",
    "embedder": "brownout.sandbox.embedder",
    "gateway": "brownout.sandbox.gateway",
}


@dataclass
class Component:
    """One child process and what the supervisor wants of it."""

    name: str
    role: Role
    port: int
    region: str | None = None
    model: str | None = None
    process: asyncio.subprocess.Process | None = None
    status: Literal["starting", "ready", "down", "stopped"] = "starting"
    restarts: int = 0
    wanted: bool = True
    gpu_memory: int | None = None
    ever_ready: bool = False

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None


def plan_components(config: SandboxConfig) -> list[Component]:
    """The stack: replicas `llm-<region>-<i>`, the fallback replica, the embedder, the gateway."""
    components = [
        Component(f"llm-{region}-{i}", "replica", free_port(), region, config.primary_model)
        for region in config.regions
        for i in range(config.replicas_per_region)
    ]
    components.append(Component("llm-fallback-0", "fallback", free_port(), config.home_region, config.fallback_model))
    components.append(Component("embedder", "embedder", free_port()))
    components.append(Component("gateway", "gateway", free_port(), config.home_region))
    return components


class Supervisor:
    """Owns the children. All methods run on the supervisor's single event loop."""

    def __init__(self, config: SandboxConfig, workdir: Path, control_port: int, detach: bool) -> None:
        self.config = config
        self.workdir = workdir
        self.control_url = f"http://{HOST}:{control_port}"
        self.detach = detach
        self.components = {c.name: c for c in plan_components(config)}
        self.regions = {region: "up" for region in config.regions}
        self.embedder_latency = {"latency": 0.0, "jitter": 0.0}
        self.embedder_via: str | None = None  # the gateway reaches the embedder through this proxy when set
        self.stopping = False
        self.session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def by_role(self, role: Role) -> list[Component]:
        return [c for c in self.components.values() if c.role == role]

    def _argv(self, c: Component, cold_start: float) -> list[str]:
        argv = python_command(_MODULES[c.role], "--config", self.config.to_json(), "--port", str(c.port), "--name", c.name)
        if c.role in ("replica", "fallback"):
            argv += ["--region", str(c.region), "--model", str(c.model), "--cold-start", str(cold_start)]
            if c.gpu_memory is not None:
                argv += ["--gpu-memory", str(c.gpu_memory)]
        elif c.role == "embedder":
            argv += ["--latency", str(self.embedder_latency["latency"]), "--jitter", str(self.embedder_latency["jitter"])]
        else:
            upstreams = [
                {"name": u.name, "region": u.region, "url": u.url, "model": u.model}
                for u in self.components.values()
                if u.role in ("replica", "fallback")
            ]
            argv += ["--upstreams", json.dumps(upstreams), "--embedder", self.embedder_via or self.components["embedder"].url]
        return argv

    async def spawn(self, c: Component, cold_start: float) -> None:
        with open(self.workdir / f"{c.name}.log", "ab") as logfile:
            process = await asyncio.create_subprocess_exec(
                *self._argv(c, cold_start), stdin=asyncio.subprocess.DEVNULL, stdout=logfile, stderr=asyncio.subprocess.STDOUT,
                env=child_env(),
            )
        c.process, c.status = process, "starting"
        log.info("started %s pid %d on port %d (cold start %.2fs)", c.name, process.pid, c.port, cold_start)
        self._spawn_task(self._watch(c, process))
        self.write_state_file()

    def _spawn_task(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(self, c: Component, process: asyncio.subprocess.Process) -> None:
        """Wait for the child to exit; restart it unless it was stopped on purpose."""
        code = await process.wait()
        if c.process is not process:
            return
        log.info("%s pid %d exited with status %s", c.name, process.pid, code)
        if self.stopping or not c.wanted:
            c.status = "stopped"
            self.write_state_file()
            return
        c.status = "down"
        c.restarts += 1
        if not c.ever_ready:
            self._move(c)
        self.write_state_file()
        await asyncio.sleep(RESTART_DELAY)
        if c.wanted and not self.stopping and c.process is process:
            await self.spawn(c, self.config.cold_start)

    def _move(self, c: Component) -> None:
        """A component that died before it ever answered most likely lost its port to another process
        between `free_port` and its bind (a busy machine): it restarts on a fresh port, and the gateway,
        which was given the old address, restarts to learn the new one."""
        old, c.port = c.port, free_port()
        log.info("%s never became ready on port %d: restarting it on port %d", c.name, old, c.port)
        gateway = self.components.get("gateway")
        if c.role != "gateway" and gateway is not None and gateway.alive:
            assert gateway.process is not None
            gateway.process.terminate()   # its watch restarts it with the current upstream addresses

    async def readiness_loop(self) -> None:
        """Mark starting components ready once their /health answers 200."""
        assert self.session is not None
        while True:
            for c in [c for c in self.components.values() if c.status == "starting" and c.alive]:
                try:
                    async with self.session.get(c.url + "/health", timeout=aiohttp.ClientTimeout(total=0.5)) as response:
                        ours = c.process is not None and response.headers.get(IDENTITY_HEADER) == str(c.process.pid)
                        if response.status == 200 and ours and c.status == "starting":
                            c.status, c.ever_ready = "ready", True
                            log.info("%s is ready", c.name)
                except (TimeoutError, aiohttp.ClientError):
                    pass
            await asyncio.sleep(READY_POLL)

    async def stop_component(self, c: Component) -> None:
        c.wanted = False
        process = c.process
        if process is None or process.returncode is not None:
            c.status = "stopped"
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE)
        except TimeoutError:
            process.kill()
            await process.wait()
        c.status = "stopped"

    async def start(self) -> None:
        # Initial start is warm: the harness waits for readiness anyway, and a
        # run's baseline should not be spent on model load. Restarts cold-start.
        await asyncio.gather(*(self.spawn(c, 0.0) for c in self.components.values()))

    async def shutdown(self) -> None:
        self.stopping = True
        await asyncio.gather(*(self.stop_component(c) for c in self.components.values()))
        (self.workdir / STATE_FILE).unlink(missing_ok=True)
        log.info("all components stopped")

    def state(self) -> dict[str, Any]:
        def describe(c: Component) -> dict[str, Any]:
            gpu = c.role in ("replica", "fallback")
            return {
                "name": c.name,
                "role": c.role,
                "region": c.region,
                "model": c.model,
                "pid": c.process.pid if c.alive and c.process else None,
                "port": c.port,
                "url": c.url,
                "status": c.status,
                "restarts": c.restarts,
                "gpu_memory": (c.gpu_memory if c.gpu_memory is not None else self.config.gpu_memory) if gpu else None,
                "gpu_memory_total": self.config.gpu_memory if gpu else None,
            }

        return {
            "gateway_url": self.components["gateway"].url,
            "embedder_url": self.components["embedder"].url,
            "control_url": self.control_url,
            "supervisor_pid": os.getpid(),
            "profile": self.config.profile,
            "regions": dict(self.regions),
            "embedder_latency": dict(self.embedder_latency),
            "links": {"embedder": self.embedder_via},
            "components": [describe(c) for c in self.components.values()],
        }

    def write_state_file(self) -> None:
        """Pids and URLs on disk, so `brownout sandbox status|down` finds a detached sandbox."""
        if self.stopping:
            return
        state = self.state()
        state["detached"] = self.detach
        path = self.workdir / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, path)


SUPERVISOR = web.AppKey("supervisor", Supervisor)


def _component(request: web.Request) -> Component:
    sup = request.app[SUPERVISOR]
    name = request.match_info["name"]
    if name not in sup.components:
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"no component {name!r}", "components": sorted(sup.components)}),
            content_type="application/json",
        )
    return sup.components[name]


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError as exc:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"invalid JSON: {exc}"}), content_type="application/json")
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "expected a JSON object"}), content_type="application/json")
    return body


async def get_state(request: web.Request) -> web.Response:
    return web.json_response(request.app[SUPERVISOR].state())


async def signal_component(request: web.Request) -> web.Response:
    """Kill a component for real and wait for it to exit; the supervisor restarts it (replicas cold-start)."""
    c = _component(request)
    body = await _body(request)
    name = body.get("signal", "SIGKILL")
    if name not in ("SIGKILL", "SIGTERM"):
        raise web.HTTPBadRequest(text=json.dumps({"error": "signal must be SIGKILL or SIGTERM"}), content_type="application/json")
    if not c.alive or c.process is None:
        return web.json_response({"component": c.name, "pid": None, "signal": name, "note": f"already {c.status}"})
    process = c.process
    os.kill(process.pid, getattr(signal, name))
    log.info("sent %s to %s pid %d", name, c.name, process.pid)
    try:  # answer once the process is really gone, so the fault is in place when the call returns
        await asyncio.wait_for(asyncio.shield(process.wait()), SIGNAL_WAIT)
        exited = True
    except TimeoutError:
        exited = False
    return web.json_response({"component": c.name, "pid": process.pid, "signal": name, "exited": exited})


async def set_gpu(request: web.Request) -> web.Response:
    """Shrink (bytes) or restore (null) a replica's GPU memory; remembered across restarts."""
    sup = request.app[SUPERVISOR]
    c = _component(request)
    if c.role not in ("replica", "fallback"):
        raise web.HTTPBadRequest(text=json.dumps({"error": f"{c.name} is not an LLM replica"}), content_type="application/json")
    body = await _body(request)
    value = body.get("gpu_memory")
    wanted = None if value is None else int(value)
    changed = wanted != c.gpu_memory
    c.gpu_memory = wanted
    applied = False
    if c.alive and sup.session is not None:
        try:
            async with sup.session.post(c.url + "/admin/gpu", json={"gpu_memory": wanted}) as response:
                applied = response.status == 200
        except (TimeoutError, aiohttp.ClientError):
            applied = False
    sup.write_state_file()
    effective = wanted if wanted is not None else sup.config.gpu_memory
    return web.json_response(
        {"component": c.name, "gpu_memory": effective, "changed": changed, "applied_now": applied,
         "note": "applied" if applied else "remembered; applied when the replica (re)starts"}
    )


async def set_degrade(request: web.Request) -> web.Response:
    """Start (`{answer, share, tokens, model, seed}`) or end (null) a replica's bad rollout, now.

    Not remembered across a restart: a replica that restarts comes back answering well.
    """
    sup = request.app[SUPERVISOR]
    c = _component(request)
    if c.role not in ("replica", "fallback"):
        raise web.HTTPBadRequest(text=json.dumps({"error": f"{c.name} is not an LLM replica"}), content_type="application/json")
    body = await request.json() if request.can_read_body else None
    if not c.alive or sup.session is None:
        raise web.HTTPConflict(text=json.dumps({"error": f"{c.name} is {c.status}"}), content_type="application/json")
    try:
        async with sup.session.post(c.url + "/admin/degrade", json=body) as response:
            answer = await response.json()
            status = response.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise web.HTTPBadGateway(text=json.dumps({"error": f"{c.name} unreachable: {exc}"}), content_type="application/json")
    return web.json_response({"component": c.name, **answer}, status=status)


async def region_down(request: web.Request) -> web.Response:
    sup = request.app[SUPERVISOR]
    region = request.match_info["region"]
    if region not in sup.regions:
        raise web.HTTPNotFound(text=json.dumps({"error": f"no region {region!r}"}), content_type="application/json")
    replicas = [c for c in sup.by_role("replica") if c.region == region]
    was = sup.regions[region]
    sup.regions[region] = "down"
    pids = [c.process.pid for c in replicas if c.alive and c.process]
    await asyncio.gather(*(sup.stop_component(c) for c in replicas))
    sup.write_state_file()
    log.info("region %s down (stopped pids %s)", region, pids)
    return web.json_response({"region": region, "status": "down", "stopped_pids": pids, "note": f"was {was}"})


async def region_up(request: web.Request) -> web.Response:
    sup = request.app[SUPERVISOR]
    region = request.match_info["region"]
    if region not in sup.regions:
        raise web.HTTPNotFound(text=json.dumps({"error": f"no region {region!r}"}), content_type="application/json")
    was = sup.regions[region]
    sup.regions[region] = "up"
    started = []
    for c in [c for c in sup.by_role("replica") if c.region == region]:
        c.wanted = True
        if not c.alive:
            await sup.spawn(c, sup.config.cold_start)
            started.append(c.name)
    sup.write_state_file()
    return web.json_response({"region": region, "status": "up", "started": started, "note": f"was {was}"})


async def embedder_latency(request: web.Request) -> web.Response:
    """Add latency (+/- jitter) to every embedding request; 0 restores. Survives embedder restarts."""
    sup = request.app[SUPERVISOR]
    body = await _body(request)
    wanted = {"latency": float(body.get("latency") or 0.0), "jitter": float(body.get("jitter") or 0.0)}
    previous = dict(sup.embedder_latency)
    sup.embedder_latency = wanted
    embedder = sup.components["embedder"]
    applied = False
    if embedder.alive and sup.session is not None:
        try:
            async with sup.session.post(embedder.url + "/admin/latency", json=wanted) as response:
                applied = response.status == 200
        except (TimeoutError, aiohttp.ClientError):
            applied = False
    sup.write_state_file()
    return web.json_response({**wanted, "previous": previous, "changed": wanted != previous, "applied_now": applied})


async def embedder_link(request: web.Request) -> web.Response:
    """Route the gateway's embedding calls through `via` (a proxy URL), or straight again with null.

    Survives gateway restarts. A network fault on that proxy then acts on the
    gateway-to-embedder link only, as a toxic on a real embedding service's proxy would.
    """
    sup = request.app[SUPERVISOR]
    body = await _body(request)
    via = body.get("via")
    if via is not None and (not isinstance(via, str) or not via.startswith("http")):
        raise web.HTTPBadRequest(text=json.dumps({"error": "via must be an http(s) URL or null"}), content_type="application/json")
    previous, sup.embedder_via = sup.embedder_via, via
    gateway = sup.components["gateway"]
    applied = False
    if gateway.alive and sup.session is not None:
        target = via or sup.components["embedder"].url
        try:
            async with sup.session.post(gateway.url + "/admin/embedder", json={"url": target}) as response:
                applied = response.status == 200
        except (TimeoutError, aiohttp.ClientError):
            applied = False
    sup.write_state_file()
    return web.json_response({"via": via, "previous": previous, "changed": via != previous, "applied_now": applied})


def build_app(config: SandboxConfig, workdir: Path, control_port: int, detach: bool) -> web.Application:
    sup = Supervisor(config, workdir, control_port, detach)
    app = web.Application()
    app[SUPERVISOR] = sup
    app.router.add_get("/sandbox/state", get_state)
    app.router.add_post("/sandbox/components/{name}/signal", signal_component)
    app.router.add_post("/sandbox/components/{name}/gpu", set_gpu)
    app.router.add_post("/sandbox/components/{name}/degrade", set_degrade)
    app.router.add_post("/sandbox/regions/{region}/down", region_down)
    app.router.add_post("/sandbox/regions/{region}/up", region_up)
    app.router.add_post("/sandbox/embedder/latency", embedder_latency)
    app.router.add_post("/sandbox/links/embedder", embedder_link)

    async def lifecycle(app: web.Application):  # type: ignore[no-untyped-def]
        sup.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5.0))
        await sup.start()
        readiness = asyncio.create_task(sup.readiness_loop())
        yield
        readiness.cancel()
        await sup.shutdown()
        await sup.session.close()

    app.cleanup_ctx.append(lifecycle)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="brownout sandbox supervisor")
    parser.add_argument("--config", required=True, type=SandboxConfig.from_json)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--detach", action="store_true", help="keep running when the caller exits")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    serve(build_app(args.config, args.workdir, args.port, args.detach), args.port, "supervisor", detach=args.detach)


if __name__ == "__main__":
    main()
