"""`stream.fault`: a rule in the stream fault proxy. Inject PUTs it, rollback DELETEs it.

The handle carries the control URL, the rule id and the rule itself, so
`brownout recover` can undo it from another process. A proxy that is gone took
its rules with it, so an unreachable proxy counts as rolled back.
"""

from __future__ import annotations

from typing import Any

import httpx

from brownout.errors import InjectError, RollbackError
from brownout.spec.faults.stream import StreamFault
from brownout.faults.base import FaultDriver, FaultHandle, Resolution, ResolvedTarget
from brownout.faults.stream.control import delete_rule, put_rule
from brownout.faults.stream.rules import StreamRule

__all__ = ["StreamFaultDriver", "rule_from_spec"]


def rule_from_spec(spec: StreamFault, seed: int) -> StreamRule:
    """The proxy's wire rule for a spec; parameters the mode does not read are left to the proxy's defaults."""
    values: dict[str, Any] = {
        "mode": spec.mode, "share": spec.share, "ttl": spec.effective_ttl, "seed": seed,
        "paths": tuple(spec.paths),
    }
    for name in ("after_tokens", "stall", "slowdown", "extra_delay", "retry_after", "burst", "pause", "degrade", "model"):
        if getattr(spec, name) is not None:
            values[name] = getattr(spec, name)
    return StreamRule.model_validate(values)


def _action(rule: StreamRule) -> str:
    """One line for the dry run and the report, from the rule with its defaults filled."""
    match rule.mode:
        case "cut":
            what = f"cut the stream after {rule.after_tokens} token(s)"
        case "stall":
            what = f"stall the stream {rule.stall:g}s after {rule.after_tokens} token(s)"
        case "slow":
            what = f"slow inter-token gaps x{rule.slowdown:g} +{rule.extra_delay:g}s"
        case "throttle":
            what = f"answer 429 (Retry-After {rule.retry_after_header}s)"
        case "unavailable":
            bursts = f" in {rule.burst:g}s bursts, {rule.pause:g}s apart" if rule.burst is not None else ""
            what = f"answer 503{bursts}"
        case "degrade":
            what = {"wrong_answer": "answer wrongly (filler words)", "empty": "answer with empty text",
                    "truncate": f"truncate answers to {rule.after_tokens} token(s) (finish_reason stop)",
                    "other_model": f"answer as model {rule.model}"}[rule.degrade or "wrong_answer"]
            what += ", status 200"
        case _:
            what = "answer 200 with an error object" + (f" after {rule.after_tokens} token(s)" if rule.after_tokens else "")
    return f"{what} for {rule.share:.0%} of {', '.join(rule.paths)} requests"


class StreamFaultDriver(FaultDriver):
    kind = "stream.fault"
    spec: StreamFault

    def _control_url(self) -> str:
        url = self.context.stream_proxy_control
        if not url:
            raise InjectError(
                f"fault '{self.spec.name}': no stream proxy is running (FaultContext.stream_proxy_control is unset); "
                "the runner starts one with brownout.faults.stream.stream_proxy_for()"
            )
        return url

    def resolve(self) -> Resolution:
        url = self.context.stream_proxy_control
        target = ResolvedTarget(
            kind="stream-proxy", name=url or "stream proxy started by the run",
            detail={"mode": self.spec.mode, "share": self.spec.share, "ttl": self.spec.effective_ttl},
        )
        return Resolution(fault=self.spec.name, kind=self.kind, action=_action(rule_from_spec(self.spec, self.context.seed)), targets=[target], candidates=1)

    def prepare(self) -> FaultHandle:
        rule = rule_from_spec(self.spec, self.context.seed)
        data = {"control_url": self._control_url(), "rule_id": self.spec.name, "rule": rule.model_dump(mode="json")}
        return FaultHandle(fault=self.spec.name, kind=self.kind, data=data)

    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        rule = StreamRule.model_validate(handle.data["rule"])
        try:
            state = put_rule(handle.data["control_url"], handle.data["rule_id"], rule)
        except httpx.HTTPStatusError as exc:
            raise InjectError(f"fault '{handle.fault}': stream proxy refused the rule: {exc.response.text}") from exc
        except httpx.HTTPError as exc:
            raise InjectError(f"fault '{handle.fault}': stream proxy unreachable: {exc!r}") from exc
        return {"rule_id": state["id"], "mode": rule.mode, "share": rule.share, "expires_in": state["expires_in"]}

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        try:
            state = delete_rule(handle.data["control_url"], handle.data["rule_id"])
        except httpx.ConnectError:
            return {"removed": False, "reason": "stream proxy is gone, and its rules with it"}
        except httpx.HTTPError as exc:
            raise RollbackError(f"fault '{handle.fault}': could not delete stream rule: {exc!r}") from exc
        if state is None:
            return {"removed": False, "reason": "rule already absent"}
        return {"removed": True, "seen": state["seen"], "affected": state["affected"]}
