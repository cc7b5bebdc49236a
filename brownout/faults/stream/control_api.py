"""The control plane: a small JSON API on its own port, so load can never hit it by accident.

    GET    /faults        every rule with its counters (expired ones too, until deleted)
    GET    /faults/{id}   one rule
    PUT    /faults/{id}   create or replace; body is a StreamRule (durations in seconds, `ttl` required)
    DELETE /faults/{id}   remove; answers the final counters, 404 when absent
    GET    /health        liveness, upstream and pid
"""

from __future__ import annotations

import os
import re
import time

from aiohttp import web
from pydantic import ValidationError

from brownout.faults.stream.rules import RuleTable, StreamRule

__all__ = ["control_app"]

_RULE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def _rule_id(request: web.Request) -> str:
    rule_id = request.match_info["id"]
    if not _RULE_ID.match(rule_id):
        raise web.HTTPBadRequest(text=f"bad rule id {rule_id!r}: letters, digits, '.', '_', '-'")
    return rule_id


def control_app(table: RuleTable, upstream: str) -> web.Application:
    async def list_rules(request: web.Request) -> web.Response:
        now = time.monotonic()
        return web.json_response({"faults": [s.to_dict(now) for s in table.all()]})

    async def get_rule(request: web.Request) -> web.Response:
        state = table.get(_rule_id(request))
        if state is None:
            raise web.HTTPNotFound(text="no such rule")
        return web.json_response(state.to_dict(time.monotonic()))

    async def put_rule(request: web.Request) -> web.Response:
        rule_id = _rule_id(request)
        try:
            rule = StreamRule.model_validate_json(await request.read())
        except ValidationError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        now = time.monotonic()
        return web.json_response(table.put(rule_id, rule, now).to_dict(now))

    async def delete_rule(request: web.Request) -> web.Response:
        state = table.delete(_rule_id(request))
        if state is None:
            raise web.HTTPNotFound(text="no such rule")
        return web.json_response(state.to_dict(time.monotonic()))

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "upstream": upstream, "pid": os.getpid()})

    app = web.Application()
    app.router.add_get("/faults", list_rules)
    app.router.add_get("/faults/{id}", get_rule)
    app.router.add_put("/faults/{id}", put_rule)
    app.router.add_delete("/faults/{id}", delete_rule)
    app.router.add_get("/health", health)
    return app
