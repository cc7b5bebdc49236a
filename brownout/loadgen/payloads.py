"""Request bodies for each request kind (OpenAI-compatible, plus brownout's RAG endpoint), or the experiment's own.

`load.http` replaces the kind's path and body for APIs that differ (a real RAG
or agent endpoint): its body is a JSON template whose `{{prompt}}` (inside any
string) and whole-value `{{messages}}`, `{{model}}`, `{{max_tokens}}` are filled
in per request (spec/load.py PLACEHOLDERS).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brownout.spec.load import RequestTemplate
from brownout.spec.probes import ContentCheck
from brownout.loadgen.datasets import Prompt

__all__ = ["RequestSpec", "build_request", "fill", "streams"]

_PATHS = {
    "chat": "/v1/chat/completions",
    "completions": "/v1/completions",
    "embeddings": "/v1/embeddings",
    "rag": "/v1/rag",
}


@dataclass(frozen=True)
class RequestSpec:
    kind: str
    path: str
    body: dict[str, Any]
    stream: bool
    checks: tuple[ContentCheck, ...] = ()   # the dataset item's expected answer, judged after the response
    headers: dict[str, str] = field(default_factory=dict)  # this request's own (a session id), over the load's


def streams(kind: str, stream: bool) -> bool:
    """Only chat and completions stream; embeddings and RAG answer in one body."""
    return stream and kind in ("chat", "completions")


def fill(template: Any, values: dict[str, Any]) -> Any:
    """`template` with its placeholders replaced: a whole-value one by its value, `{{prompt}}` inside a string by the text."""
    if isinstance(template, str):
        if template in values:
            return values[template]
        return template.replace("{{prompt}}", values["{{prompt}}"]) if "{{prompt}}" in template else template
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def build_request(kind: str, prompt: Prompt, model: str, stream: bool, temperature: float,
                  http: RequestTemplate | None = None, tools: list[dict[str, Any]] | None = None) -> RequestSpec:
    """The path and JSON body for one request. Streaming asks for usage in the last event.

    `tools` (chat: a workflow step) are offered to the model as the request's `tools`.
    """
    stream = streams(kind, stream)
    path = http.path if http is not None and http.path else _PATHS[kind]
    if http is not None and http.body is not None:
        messages = list(prompt.messages) or [{"role": "user", "content": prompt.text}]
        values = {"{{prompt}}": prompt.text, "{{messages}}": messages, "{{model}}": model,
                  "{{max_tokens}}": prompt.max_tokens}
        return RequestSpec(kind, path, fill(http.body, values), stream, prompt.checks)
    body: dict[str, Any]
    if kind == "embeddings":
        body = {"model": model, "input": prompt.text}
    elif kind == "rag":
        body = {"question": prompt.text}
    else:
        body = {"model": model, "temperature": temperature, "stream": stream}
        if kind == "chat":
            body["messages"] = list(prompt.messages) or [{"role": "user", "content": prompt.text}]
            if tools:
                body["tools"] = tools
        else:
            body["prompt"] = prompt.text
        if prompt.max_tokens is not None:
            body["max_tokens"] = prompt.max_tokens
        if stream:
            body["stream_options"] = {"include_usage": True}
    return RequestSpec(kind, path, body, stream, prompt.checks)
