"""Proxies and the collection the REST API manages, with Toxiproxy's lifecycle rules.

A disabled proxy has no listener and no connections: disabling closes both,
so clients see "connection refused", as with Toxiproxy. Re-enabling listens
again on the address the proxy had (its port included).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from brownout.faults.network.embedded.link import Link
from brownout.faults.network.embedded.model import (
    PROXY_EXISTS,
    PROXY_NOT_FOUND,
    TOXIC_EXISTS,
    TOXIC_NOT_FOUND,
    ApiError,
    Toxic,
    bad_body,
    parse_toxic,
    update_toxic,
)

__all__ = ["Proxy", "ProxyCollection", "split_address"]

_log = logging.getLogger(__name__)
_CONNECT_TIMEOUT = 5.0


def split_address(address: str) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`) -> (host, port); an empty host means loopback, never all interfaces."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ApiError(f"address {address}: missing port in address", 500)
    host = host.strip("[]")
    return (host or "127.0.0.1"), int(port)


class Proxy:
    """One named listener forwarding to one upstream, with its toxics."""

    def __init__(self, name: str, listen: str, upstream: str, rng: random.Random) -> None:
        self.name = name
        self.listen = listen or "127.0.0.1:0"
        self.upstream = upstream
        self.enabled = False
        self.enable_at: float | None = None  # brownout expiry of a disable (epoch seconds)
        self.toxics: dict[str, Toxic] = {}
        self._rng = rng
        self._server: asyncio.Server | None = None
        self._links: set[Link] = set()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [t.to_json() for t in self.toxic_list()],
        }

    def toxic_list(self) -> list[Toxic]:
        """Upstream chain then downstream chain, each in the order added (Toxiproxy's order)."""
        return self.chain("upstream") + self.chain("downstream")

    def chain(self, stream: str) -> list[Toxic]:
        return [t for t in self.toxics.values() if t.stream == stream]

    async def start(self) -> None:
        if self.enabled:
            return
        host, port = split_address(self.listen)
        try:
            self._server = await asyncio.start_server(self._accept, host, port, reuse_address=True)
        except OSError as exc:
            raise ApiError(f"listen tcp {self.listen}: bind: {exc.strerror or exc}", 500) from exc
        bound = self._server.sockets[0].getsockname()
        self.listen = f"{bound[0]}:{bound[1]}" if ":" not in bound[0] else f"[{bound[0]}]:{bound[1]}"
        self.enabled = True

    def stop(self) -> None:
        """Close the listener and every connection, so new connects are refused."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for link in list(self._links):
            link.close()
        self.enabled = False

    def _changed(self) -> None:
        for link in self._links:
            link.notify()

    def add_toxic(self, body: Any) -> Toxic:
        toxic = parse_toxic(body)
        if toxic.name in self.toxics:
            raise TOXIC_EXISTS
        self.toxics[toxic.name] = toxic
        self._changed()
        return toxic

    def get_toxic(self, name: str) -> Toxic:
        if name not in self.toxics:
            raise TOXIC_NOT_FOUND
        return self.toxics[name]

    def update_toxic(self, name: str, body: Any) -> Toxic:
        toxic = update_toxic(self.get_toxic(name), body)
        self.toxics[name] = toxic
        self._changed()
        return toxic

    def remove_toxic(self, name: str) -> None:
        self.get_toxic(name)
        del self.toxics[name]
        self._changed()

    def reset_toxics(self) -> None:
        self.toxics.clear()
        self._changed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = split_address(self.upstream)
        try:
            upstream = await asyncio.wait_for(asyncio.open_connection(host, port), _CONNECT_TIMEOUT)
        except (TimeoutError, OSError) as exc:
            _log.warning("proxy %s: upstream %s unreachable: %r", self.name, self.upstream, exc)
            writer.close()
            return
        if not self.enabled:  # disabled while we were connecting
            writer.close()
            upstream[1].close()
            return
        link = Link(self.chain, self._rng, (reader, writer), upstream, self._links.discard)
        self._links.add(link)
        link.start()


class ProxyCollection:
    """All proxies by name; every method maps to one Toxiproxy API call."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self.proxies: dict[str, Proxy] = {}

    def get(self, name: str) -> Proxy:
        if name not in self.proxies:
            raise PROXY_NOT_FOUND
        return self.proxies[name]

    async def create(self, body: Any) -> Proxy:
        name, listen, upstream, enabled = _proxy_fields(body, "")
        if name in self.proxies:
            raise PROXY_EXISTS
        proxy = Proxy(name, listen, upstream, self._rng)
        if enabled:
            await proxy.start()
        self.proxies[name] = proxy
        return proxy

    async def update(self, name: str, body: Any) -> Proxy:
        proxy = self.get(name)
        if not isinstance(body, dict):
            raise bad_body("json: cannot unmarshal into Go value of type toxiproxy.Proxy")
        listen = _str_field(body, "listen", proxy.listen)
        upstream = _str_field(body, "upstream", proxy.upstream)
        enabled = body.get("enabled", proxy.enabled)
        if not isinstance(enabled, bool):
            raise bad_body("json: cannot unmarshal into Go struct field Proxy.enabled of type bool")
        expires = body.get("brownout_expires_at")
        if (listen, upstream) != (proxy.listen, proxy.upstream):
            proxy.stop()
            proxy.listen, proxy.upstream = listen, upstream
        if enabled:
            await proxy.start()
            proxy.enable_at = None
        else:
            proxy.stop()
            proxy.enable_at = float(expires) if isinstance(expires, (int, float)) and not isinstance(expires, bool) else None
        return proxy

    def remove(self, name: str) -> None:
        self.get(name).stop()
        del self.proxies[name]

    async def populate(self, body: Any) -> list[Proxy]:
        """Create or replace a list of proxies; validated in full before anything changes."""
        if not isinstance(body, list):
            raise bad_body("json: cannot unmarshal object into Go value of type []struct")
        wanted = []
        seen: set[str] = set()
        for index, item in enumerate(body, start=1):
            fields = _proxy_fields(item, f" at proxy {index}")
            if fields[0] in seen:
                raise ApiError(f"duplicate proxy name \"{fields[0]}\"", 500)
            seen.add(fields[0])
            wanted.append(fields)
        out = []
        for name, listen, upstream, enabled in wanted:
            existing = self.proxies.get(name)
            if existing is not None and existing.listen == listen and existing.upstream == upstream:
                out.append(existing)
                continue
            if existing is not None:
                self.remove(name)
            out.append(await self.create({"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}))
        return out

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic (POST /reset)."""
        for proxy in self.proxies.values():
            await proxy.start()
            proxy.enable_at = None
            proxy.reset_toxics()

    async def expire(self, now: float | None = None) -> list[str]:
        """Undo brownout faults whose expiry passed; returns what was undone, for the log."""
        now = time.time() if now is None else now
        undone = []
        for proxy in self.proxies.values():
            for toxic in list(proxy.toxics.values()):
                if toxic.expires_at is not None and toxic.expires_at <= now:
                    proxy.remove_toxic(toxic.name)
                    undone.append(f"toxic {proxy.name}/{toxic.name}")
            if proxy.enable_at is not None and proxy.enable_at <= now and not proxy.enabled:
                try:
                    await proxy.start()
                except ApiError as exc:
                    _log.warning("cannot re-enable expired disable of %s yet: %s", proxy.name, exc.message)
                    continue
                proxy.enable_at = None
                undone.append(f"disable of {proxy.name}")
        return undone

    def close(self) -> None:
        for proxy in self.proxies.values():
            proxy.stop()


def _str_field(body: dict[str, Any], key: str, default: str) -> str:
    value = body.get(key, default)
    if not isinstance(value, str):
        raise bad_body(f"json: cannot unmarshal into Go struct field Proxy.{key} of type string")
    return value


def _proxy_fields(body: Any, where: str) -> tuple[str, str, str, bool]:
    if not isinstance(body, dict):
        raise bad_body("json: cannot unmarshal into Go value of type toxiproxy.Proxy")
    name = _str_field(body, "name", "")
    listen = _str_field(body, "listen", "")
    upstream = _str_field(body, "upstream", "")
    enabled = body.get("enabled", True)
    if enabled is None:
        enabled = True
    if not isinstance(enabled, bool):
        raise bad_body("json: cannot unmarshal into Go struct field Proxy.enabled of type bool")
    if not name:
        raise ApiError(f"missing required field: name{where}", 400)
    if not upstream:
        raise ApiError(f"missing required field: upstream{where}", 400)
    return name, listen or "127.0.0.1:0", upstream, enabled
