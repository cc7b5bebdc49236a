"""Toxiproxy 2.x's REST API over aiohttp: same routes, JSON shapes, status codes and error bodies.

Errors are written the way Go's `http.Error` writes them (text/plain content
type, JSON text plus a newline), because that is what clients of a real
Toxiproxy receive.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from brownout.faults.network.embedded.model import ApiError, bad_body
from brownout.faults.network.embedded.proxies import ProxyCollection

__all__ = ["VERSION", "build_app"]

VERSION = "2.12.0+brownout"
"""A Toxiproxy 2.x version (with build metadata saying it is the embedded one)."""

_COLLECTION = web.AppKey("collection", ProxyCollection)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data), status=status, content_type="application/json")


def _no_content() -> web.Response:
    return web.Response(status=204)


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        raise bad_body("EOF")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad_body(str(exc)) from exc


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        response = web.Response(text=json.dumps(exc.to_json()) + "\n", status=exc.status)
        response.headers["Content-Type"] = "text/plain; charset=utf-8"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _proxies(request: web.Request) -> ProxyCollection:
    return request.app[_COLLECTION]


async def proxy_index(request: web.Request) -> web.Response:
    return _json({name: p.to_json() for name, p in _proxies(request).proxies.items()})


async def proxy_create(request: web.Request) -> web.Response:
    proxy = await _proxies(request).create(await _body(request))
    return _json(proxy.to_json(), 201)


async def populate(request: web.Request) -> web.Response:
    proxies = await _proxies(request).populate(await _body(request))
    return _json({"proxies": [p.to_json() for p in proxies]}, 201)


async def proxy_show(request: web.Request) -> web.Response:
    return _json(_proxies(request).get(request.match_info["proxy"]).to_json())


async def proxy_update(request: web.Request) -> web.Response:
    proxy = await _proxies(request).update(request.match_info["proxy"], await _body(request))
    return _json(proxy.to_json())


async def proxy_delete(request: web.Request) -> web.Response:
    _proxies(request).remove(request.match_info["proxy"])
    return _no_content()


async def toxic_index(request: web.Request) -> web.Response:
    proxy = _proxies(request).get(request.match_info["proxy"])
    return _json([t.to_json() for t in proxy.toxic_list()])


async def toxic_create(request: web.Request) -> web.Response:
    proxy = _proxies(request).get(request.match_info["proxy"])
    return _json(proxy.add_toxic(await _body(request)).to_json())


async def toxic_show(request: web.Request) -> web.Response:
    proxy = _proxies(request).get(request.match_info["proxy"])
    return _json(proxy.get_toxic(request.match_info["toxic"]).to_json())


async def toxic_update(request: web.Request) -> web.Response:
    proxy = _proxies(request).get(request.match_info["proxy"])
    return _json(proxy.update_toxic(request.match_info["toxic"], await _body(request)).to_json())


async def toxic_delete(request: web.Request) -> web.Response:
    proxy = _proxies(request).get(request.match_info["proxy"])
    proxy.remove_toxic(request.match_info["toxic"])
    return _no_content()


async def reset(request: web.Request) -> web.Response:
    await _proxies(request).reset()
    return _no_content()


async def version(request: web.Request) -> web.Response:
    response = web.Response(text=json.dumps({"version": VERSION}) + "\n")
    response.headers["Content-Type"] = "application/json;charset=utf-8"
    return response


def build_app(collection: ProxyCollection) -> web.Application:
    app = web.Application(middlewares=[_errors])
    app[_COLLECTION] = collection
    app.router.add_post("/reset", reset)
    app.router.add_get("/proxies", proxy_index)
    app.router.add_post("/proxies", proxy_create)
    app.router.add_post("/populate", populate)
    app.router.add_get("/proxies/{proxy}", proxy_show)
    app.router.add_route("POST", "/proxies/{proxy}", proxy_update)
    app.router.add_route("PATCH", "/proxies/{proxy}", proxy_update)
    app.router.add_delete("/proxies/{proxy}", proxy_delete)
    app.router.add_get("/proxies/{proxy}/toxics", toxic_index)
    app.router.add_post("/proxies/{proxy}/toxics", toxic_create)
    app.router.add_get("/proxies/{proxy}/toxics/{toxic}", toxic_show)
    app.router.add_route("POST", "/proxies/{proxy}/toxics/{toxic}", toxic_update)
    app.router.add_route("PATCH", "/proxies/{proxy}/toxics/{toxic}", toxic_update)
    app.router.add_delete("/proxies/{proxy}/toxics/{toxic}", toxic_delete)
    app.router.add_get("/version", version)
    return app
