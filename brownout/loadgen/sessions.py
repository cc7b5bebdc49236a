"""Requests that follow one another: a multi-turn session's turns, each resending the conversation so far.

The dispatcher (driver.py) owns the sending; `Chain` hands it in as callables, so
what a next turn says is decided here and nowhere else. A turn carries the
earlier user prompts and the assistant answers actually received (not a
recorded transcript), so a session keeps its conversation whoever serves the
next turn, across a failover too. A turn that fails or is abandoned ends the
session there; its record (with `session`, `turn`, `turns`, `error_class`) says
which turn broke and why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from brownout.spec.load import Sessions, ShareGPTReplay
from brownout.loadgen.datasets import Prompt
from brownout.loadgen.payloads import RequestSpec
from brownout.loadgen.responses import Reply
from brownout.rundata.records import RequestRecord

__all__ = ["Chain", "answered", "run_session"]

Send = Callable[[str, RequestSpec, float | None, dict[str, Any]], tuple[RequestRecord, Reply | None]]


@dataclass(frozen=True)
class Chain:
    """What a chain of requests needs from the dispatcher."""

    build: Callable[[Prompt], RequestSpec]   # the request for a prompt (the load's kind, model, template)
    send: Send                               # send it as (request id, spec, t_sched, record tags): its record, reply
    pause: Callable[[float], bool]           # wait that long before the next request; False: the run ends first
    now: Callable[[], float]                 # the run clock


def answered(rec: RequestRecord, reply: Reply | None) -> bool:
    """Whether a chain may go on after this request: it was answered (ok or degraded)."""
    return reply is not None and rec.outcome in ("ok", "degraded")


def run_session(chain: Chain, request_id: str, prompt: Prompt, t_sched: float | None,
                pacing: Sessions | ShareGPTReplay | None) -> None:
    """One arrival: a single request, or a whole session when the prompt has follow-up turns."""
    turns = 1 + len(prompt.followups)
    if pacing is None:
        chain.send(request_id, chain.build(prompt), t_sched, {})
        return
    headers = {pacing.header: request_id} if pacing.header else {}

    def send(turn_id: str, turn_prompt: Prompt, t: float | None, turn: int) -> tuple[RequestRecord, Reply | None]:
        spec = dataclasses.replace(chain.build(turn_prompt), headers=headers)
        return chain.send(turn_id, spec, t, {"session": request_id, "turn": turn, "turns": turns})

    rec, reply = send(request_id, prompt, t_sched, 1)
    history: tuple[dict[str, Any], ...] = prompt.messages or ({"role": "user", "content": prompt.text},)
    for turn, follow in enumerate(prompt.followups, start=2):
        if not answered(rec, reply):
            return  # the user gives up on a broken conversation
        assert reply is not None
        history += ({"role": "assistant", "content": "".join(reply.answer)}, {"role": "user", "content": follow.text})
        t_next = chain.now() + pacing.think_time
        if not chain.pause(pacing.think_time):
            return
        text = "\n\n".join(str(m["content"]) for m in history)  # what a completions endpoint gets
        rec, reply = send(f"{request_id}.{turn - 1}", Prompt(text, history, follow.max_tokens), t_next, turn)
