"""An agent workflow: a tool-calling loop of chat requests, one record per step.

Step 1 sends the prompt with the experiment's `tools`. While an answer asks for
`tool_calls`, the answer and the experiment's result for each call go back into
the conversation and the next step is sent at once (an agent does not think
between steps). The workflow succeeds when an answer has no tool calls (the
final answer) within `max_steps`; it fails at a failed step, or when the last
allowed step still asks for tools. Each step's record carries `workflow`, `step`,
`max_steps` and `tool_calls`, which is all scoring needs to judge the whole
(brownout.reports.metrics.workflows).
"""

from __future__ import annotations

from typing import Any

from brownout.spec.load import Workflow
from brownout.loadgen.datasets import Prompt
from brownout.loadgen.sessions import Chain, answered
from brownout.loadgen.toolcalls import assistant_message, tool_message

__all__ = ["run_workflow"]


def run_workflow(chain: Chain, request_id: str, prompt: Prompt, t_sched: float | None, workflow: Workflow) -> None:
    """Run one workflow to its final answer, its first failed step, or its step limit."""
    opening = ({"role": "system", "content": workflow.system},) if workflow.system else ()
    history: tuple[dict[str, Any], ...] = opening + (prompt.messages or ({"role": "user", "content": prompt.text},))
    t: float | None = t_sched
    for step in range(1, workflow.max_steps + 1):
        step_id = request_id if step == 1 else f"{request_id}.{step - 1}"
        tags = {"workflow": request_id, "step": step, "max_steps": workflow.max_steps}
        rec, reply = chain.send(step_id, chain.build(Prompt(prompt.text, history, prompt.max_tokens)), t, tags)
        if not answered(rec, reply) or not reply or not reply.tool_calls:
            return
        calls = reply.tool_calls
        history += (assistant_message("".join(reply.answer), calls), *(tool_message(c, workflow.tools) for c in calls))
        if not chain.pause(0.0):
            return  # the run ended mid-workflow: unfinished, judged by no rate
        t = chain.now()
