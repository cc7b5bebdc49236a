"""What load to drive: request kind, arrivals (and their shapes), dataset, limits, workers."""

from __future__ import annotations

import re
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import Field, field_validator, model_validator

from brownout.spec.base import StrictModel
from brownout.spec.files import DataFile
from brownout.spec.units import Duration, Rate, Size

__all__ = [
    "Arrival",
    "BurstArrival",
    "ConcurrencyArrival",
    "ConstantArrival",
    "Dataset",
    "JsonlDataset",
    "Load",
    "LongContextDataset",
    "PoissonArrival",
    "RampShape",
    "RequestTemplate",
    "RateShape",
    "Sessions",
    "ShareGPTDataset",
    "SESSION_HEADER",
    "ShareGPTReplay",
    "SharedPrefix",
    "SpikeShape",
    "StepLevel",
    "StepShape",
    "SweepShape",
    "SyntheticDataset",
    "TiktokenTokenizer",
    "TokenLength",
    "Tool",
    "UsersShape",
    "Workflow",
]

SESSION_HEADER = "X-Session-Id"


class TokenLength(StrictModel):
    """A token-length distribution, clamped to [min, max]."""

    dist: Literal["fixed", "uniform", "normal", "lognormal"] = Field("fixed", description="Distribution family.")
    mean: float = Field(128, gt=0, description="Mean (for 'fixed', the value; for 'uniform', the centre).")
    stddev: float = Field(0, ge=0, description="Standard deviation ('normal', 'lognormal'); half-width for 'uniform'.")
    min: int = Field(1, ge=1, description="Lower clamp.")
    max: int = Field(32768, ge=1, description="Upper clamp.")

    @model_validator(mode="after")
    def _ordered(self) -> "TokenLength":
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class SharedPrefix(StrictModel):
    """Prompts fall into groups that share a common opening, to exercise prefix and KV caches."""

    groups: int = Field(..., ge=1, le=10000, description="Number of groups; prompt i belongs to group i mod groups.")
    tokens: int = Field(..., ge=1, le=1_000_000, description="Length of each group's common prefix, in tokens.")


class _Conversation(StrictModel):
    think_time: Duration = Field(0.0, description="Pause between an answer and the next turn.")
    header: str | None = Field(
        SESSION_HEADER, pattern=r"^[A-Za-z0-9-]{1,64}$",
        description="Request header carrying the session id on every turn, for gateways with session affinity "
        "(the sandbox's); null sends none.",
    )


class Sessions(_Conversation):
    """Multi-turn conversations: each turn resends the history plus the assistant's actual answers.

    A session whose turn fails stops there (the user gives up): its records say which turn and which error,
    and it counts against `session_survival_rate`.
    """

    turns: int = Field(..., ge=2, le=1000, description="User turns per session (each is one request and one record).")


class ShareGPTReplay(_Conversation):
    """Replay each ShareGPT conversation turn by turn: its human turns in order, each sent with the
    conversation so far (the earlier prompts and the answers actually received, not the recorded ones)."""

    max_turns: int = Field(1000, ge=1, le=1000, description="Human turns replayed per conversation at most.")


class SyntheticDataset(StrictModel):
    """Generated prompts with given input and output token lengths.

    With `shared_prefix`, a prompt is its group's prefix followed by a unique part
    drawn from `input_tokens`. With `sessions`, every arrival (or closed-loop
    user iteration) runs a whole conversation of `turns` requests.
    """

    kind: Literal["synthetic"] = "synthetic"
    input_tokens: TokenLength = Field(default_factory=lambda: TokenLength(mean=64), description="Prompt length (after any shared prefix).")
    output_tokens: TokenLength = Field(default_factory=lambda: TokenLength(mean=32), description="Requested max_tokens.")
    shared_prefix: SharedPrefix | None = Field(None, description="Group prompts under common prefixes.")
    sessions: Sessions | None = Field(None, description="Run multi-turn sessions instead of single requests.")


class LongContextDataset(StrictModel):
    """Distinct prompts that fill the context window almost to its limit (KV-cache and GPU-memory pressure).

    Each prompt has `fill * context_tokens - output_tokens` tokens of unrelated
    words, so no prefix cache can share them. Pair it with a `burst` arrival.
    """

    kind: Literal["long_context"]
    context_tokens: int = Field(..., ge=16, le=10_000_000, description="The target's context limit, in tokens.")
    fill: float = Field(0.95, gt=0, le=1, description="Share of the context each request uses (prompt plus output).")
    output_tokens: int = Field(16, ge=1, description="max_tokens of each request.")
    prompts: int = Field(16, ge=1, le=1024, description="Distinct prompts to cycle through.")

    @model_validator(mode="after")
    def _room_for_a_prompt(self) -> "LongContextDataset":
        if int(self.fill * self.context_tokens) <= self.output_tokens:
            raise ValueError("fill * context_tokens leaves no room for a prompt after output_tokens")
        return self


class JsonlDataset(StrictModel):
    """One JSON object per line with a `prompt` (or `messages`), optional `max_tokens` and optional `checks`."""

    kind: Literal["jsonl"]
    path: DataFile = Field(..., description="Path, relative to the experiment file.")
    check_share: float = Field(
        1.0, ge=0, le=1, description="Share of requests (a seeded draw by request id) whose answer is judged by its item's "
        "`checks` (the golden-set vocabulary); a failed check makes the request degraded, and counts in accuracy.",
    )


class ShareGPTDataset(StrictModel):
    """ShareGPT-format conversations (`conversations: [{from, value}]`).

    Without `sessions`, each conversation's first human turn is one request; with it, the whole
    conversation is one session, its human turns sent one by one. A turn's `max_tokens` is the
    recorded reply's length (about 4/3 token per word).
    """

    kind: Literal["sharegpt"]
    path: DataFile = Field(..., description="Path, relative to the experiment file.")
    sessions: ShareGPTReplay | None = Field(None, description="Replay conversations turn by turn as sessions.")


class TiktokenTokenizer(StrictModel):
    """An offline BPE tokenizer from a local `.tiktoken` ranks file, for token counts when the server reports no usage.

    The file holds one `BASE64_TOKEN RANK` line per token, the format of the
    encodings tiktoken publishes (e.g. `cl100k_base.tiktoken`); every single byte
    must have a rank so any text can be encoded. brownout never downloads it: no
    package ships an LLM vocabulary, so the user provides the file. Text is split
    with `pattern` before BPE. Chat prompts count the message contents only (not
    the chat template the server wraps around them).
    """

    kind: Literal["tiktoken"]
    encoding_file: DataFile = Field(..., description="Path to the ranks file, relative to the experiment file.")
    pattern: Literal["cl100k", "r50k"] = Field(
        "cl100k", description="Pre-tokenization split: 'cl100k' (GPT-3.5/4 style) or 'r50k' (GPT-2 style)."
    )


Dataset = Annotated[SyntheticDataset | JsonlDataset | ShareGPTDataset | LongContextDataset, Field(discriminator="kind")]


L = TypeVar("L")


class _Shape(StrictModel, Generic[L]):
    """Levels are rates (`5/s`) on open loop and user counts on closed loop; times from the load's start."""

    @classmethod
    def model_parametrized_name(cls, params: tuple[type[Any], ...]) -> str:
        return f"{cls.__name__}{'Users' if params[0] is int else 'Rate'}"


class RampShape(_Shape[L], Generic[L]):
    """Linear change from one level to another, then hold the last."""

    kind: Literal["ramp"]
    from_: L = Field(..., alias="from", description="Level at the start.")
    to: L = Field(..., description="Level reached after `over`, and held afterwards.")
    over: Duration = Field(..., description="How long the ramp takes.")


class StepLevel(_Shape[L], Generic[L]):
    at: Duration = Field(..., description="When this level starts.")
    level: L = Field(..., description="Level from `at` on.")


class StepShape(_Shape[L], Generic[L]):
    """Piecewise-constant levels; the first step starts at 0s."""

    kind: Literal["step"]
    steps: list[StepLevel[L]] = Field(..., min_length=1, description="Levels in time order.")

    @model_validator(mode="after")
    def _ordered(self) -> "StepShape[L]":
        ats = [s.at for s in self.steps]
        if ats[0] != 0:
            raise ValueError("the first step must start at 0s")
        if any(b <= a for a, b in zip(ats, ats[1:])):
            raise ValueError("steps must be in strictly increasing 'at' order")
        return self


class SpikeShape(_Shape[L], Generic[L]):
    """A base level with one spike to a peak."""

    kind: Literal["spike"]
    base: L = Field(..., description="Level outside the spike.")
    peak: L = Field(..., description="Level during the spike.")
    at: Duration = Field(..., description="When the spike starts.")
    for_: Duration = Field(..., alias="for", description="How long the spike lasts.")


class SweepShape(_Shape[L], Generic[L]):
    """A rate sweep: each level held for `hold`, the last one until the end."""

    kind: Literal["sweep"]
    levels: list[L] = Field(..., min_length=1, description="Levels in the order they are held.")
    hold: Duration = Field(..., description="How long each level is held.")

    @field_validator("hold")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("hold must be longer than 0s")
        return value


RateShape = Annotated[
    RampShape[Rate] | StepShape[Rate] | SpikeShape[Rate] | SweepShape[Rate], Field(discriminator="kind")
]
UsersShape = Annotated[
    RampShape[int] | StepShape[int] | SpikeShape[int] | SweepShape[int], Field(discriminator="kind")
]


class _OpenLoop(StrictModel):
    rate: Rate | None = Field(None, description="Requests per unit time, e.g. 5/s.")
    shape: RateShape | None = Field(None, description="A rate that changes over time (ramp, step, spike, sweep), instead of `rate`.")
    output_tokens_per_s: float | None = Field(
        None,
        gt=0,
        description="Target output tokens per second, instead of `rate`: the request rate is this divided by the "
        "dataset's mean requested output length (max_tokens). Targets that stop early produce fewer tokens.",
    )

    @model_validator(mode="after")
    def _one_rate(self) -> "_OpenLoop":
        given = [n for n in ("rate", "shape", "output_tokens_per_s") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of rate, shape, output_tokens_per_s (got {', '.join(given) or 'none'})")
        return self


class ConstantArrival(_OpenLoop):
    """Open loop: requests are sent on a fixed schedule whatever the target's latency."""

    kind: Literal["constant"]


class PoissonArrival(_OpenLoop):
    """Open loop with exponential (or gamma, burstiness != 1) inter-arrival times."""

    kind: Literal["poisson"]
    burstiness: float = Field(1.0, gt=0, description="Gamma shape; 1 is Poisson, below 1 is burstier.")


class BurstArrival(StrictModel):
    """Open loop: `size` requests at once, every `every` (long-context floods)."""

    kind: Literal["burst"]
    size: int = Field(..., ge=1, le=100000, description="Requests sent together in each burst.")
    every: Duration = Field(..., description="Time from one burst to the next.")

    @field_validator("every")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("every must be longer than 0s")
        return value


class ConcurrencyArrival(StrictModel):
    """Closed loop: a number of users, each sending as soon as its previous request ends."""

    kind: Literal["concurrency"]
    users: int | None = Field(None, ge=1, le=10000, description="Concurrent users.")
    shape: UsersShape | None = Field(None, description="A user count that changes over time, instead of `users`.")

    @model_validator(mode="after")
    def _one_level(self) -> "ConcurrencyArrival":
        if (self.users is None) == (self.shape is None):
            raise ValueError("give exactly one of users, shape")
        return self


Arrival = Annotated[ConstantArrival | PoissonArrival | BurstArrival | ConcurrencyArrival, Field(discriminator="kind")]

_HOST_PORT = re.compile(r"^[A-Za-z0-9_.:\[\]-]+:\d{1,5}$")


PLACEHOLDERS = {
    "{{prompt}}": "the prompt or question text (inside any string)",
    "{{messages}}": "the chat messages so far, as a list (a whole value)",
    "{{model}}": "target.model (a whole value)",
    "{{max_tokens}}": "the prompt's max_tokens, or null (a whole value)",
}
_PLACEHOLDER = re.compile(r"\{\{[^{}]*\}\}")


def _placeholders(value: Any) -> list[str]:
    if isinstance(value, str):
        return _PLACEHOLDER.findall(value)
    if isinstance(value, dict):
        return [p for v in value.values() for p in _placeholders(v)]
    if isinstance(value, list):
        return [p for v in value for p in _placeholders(v)]
    return []


class RequestTemplate(StrictModel):
    """The HTTP request of each load request, for APIs that are not brownout's defaults (a real RAG or agent endpoint)."""

    path: str | None = Field(
        None, pattern=r"^/", description="Path on the target instead of the kind's default (/v1/chat/completions, "
        "/v1/completions, /v1/embeddings, /v1/rag).",
    )
    body: dict[str, Any] | None = Field(
        None,
        description="JSON body template instead of the kind's default body. Placeholders: " + "; ".join(
            f"`{k}` {v}" for k, v in PLACEHOLDERS.items()) + ". It must use `{{prompt}}` or `{{messages}}`.",
    )
    answer: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="Dotted path of the generated text in a non-streamed JSON answer (e.g. `data.answer`), instead "
        "of the kind's default (`answer` for rag, `choices.0.message.content` for chat); empty means empty_completion.",
    )

    @field_validator("body")
    @classmethod
    def _known_placeholders(cls, body: dict[str, Any] | None) -> dict[str, Any] | None:
        if body is None:
            return None
        used = _placeholders(body)
        unknown = sorted(set(used) - set(PLACEHOLDERS))
        if unknown:
            raise ValueError(f"unknown placeholder {unknown[0]}; known: {', '.join(PLACEHOLDERS)}")
        if not {"{{prompt}}", "{{messages}}"} & set(used):
            raise ValueError("the body never uses {{prompt}} or {{messages}}: every request would be the same")
        return body


TOOL_PLACEHOLDERS = {
    "{{name}}": "the tool's name",
    "{{arguments}}": "the call's arguments, as the JSON text the model sent",
}


class Tool(StrictModel):
    """A tool the model may call in a workflow, and the result the experiment answers each call with
    (deterministic: a canned value or a template, never a real side effect)."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Function name, as the model calls it.")
    description: str = Field("", description="What the tool does, sent to the model.")
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON Schema of the arguments, sent to the model as `function.parameters`.",
    )
    result: Any = Field(None, description="Canned result of every call (a string is sent as is, anything else as JSON).")
    result_template: str | None = Field(
        None, description="Result text instead of `result`; placeholders: " + "; ".join(
            f"`{k}` {v}" for k, v in TOOL_PLACEHOLDERS.items()) + ".",
    )

    @model_validator(mode="after")
    def _one_result(self) -> "Tool":
        if (self.result is None) == (self.result_template is None):
            raise ValueError("give exactly one of result, result_template")
        unknown = sorted(set(_PLACEHOLDER.findall(self.result_template or "")) - set(TOOL_PLACEHOLDERS))
        if unknown:
            raise ValueError(f"unknown placeholder {unknown[0]}; known: {', '.join(TOOL_PLACEHOLDERS)}")
        return self


class Workflow(StrictModel):
    """An agent's tool-calling loop (`request: workflow`): a chat request with `tools`; while the answer asks
    for `tool_calls`, the results go back in the conversation and the loop continues, until a final answer
    (success) or `max_steps` requests (a failure). Each step is one record; a failed step ends the workflow."""

    tools: list[Tool] = Field(..., min_length=1, max_length=128, description="Tools offered to the model.")
    max_steps: int = Field(8, ge=1, le=100, description="Requests per workflow at most, the final answer included.")
    system: str | None = Field(None, description="System message opening every workflow's conversation.")

    @field_validator("tools")
    @classmethod
    def _unique(cls, tools: list[Tool]) -> list[Tool]:
        names = [t.name for t in tools]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"tool names must be unique: {', '.join(duplicates)}")
        return tools


class Load(StrictModel):
    """Token-aware load driven through Locust for every phase of the run."""

    request: Literal["chat", "completions", "embeddings", "rag", "workflow"] = Field(
        "chat", description="Request kind; `workflow` is a tool-calling loop of chat requests (see `workflow`).",
    )
    workflow: Workflow | None = Field(None, description="The tools and step limit of `request: workflow`.")
    http: RequestTemplate | None = Field(
        None, description="Path, body template and answer field of the requests, for an API that differs from the kind's default.",
    )
    stream: bool = Field(True, description="Stream responses (SSE); token timings need it.")
    arrival: Arrival = Field(..., description="Arrival profile.")
    dataset: Dataset = Field(default_factory=SyntheticDataset, description="Where prompts come from.")
    tokenizer: TiktokenTokenizer | None = Field(
        None,
        description="Offline tokenizer: counts prompt and streamed-content tokens of requests whose server reports no "
        "usage (token_source 'tokenizer'); without it such requests count content chunks.",
    )
    max_in_flight: int = Field(256, ge=1, le=100000, description="Cap on concurrent requests; arrivals over it are counted as dropped.")
    timeout: Duration = Field(
        30.0,
        description="Bounds every request end to end, from the send to the last byte, whatever the server sends "
        "(slow reads, huge events): a request that takes longer fails as `timeout`, never counts as answered.",
    )
    max_event_size: Size = Field(
        1 << 20, ge=1024,
        description="Largest SSE event (one line) or non-streamed body the load reads; a bigger one fails the request "
        "as `oversized_event` and bounds the load process's memory. Default 1 MiB; real events are a few hundred bytes.",
    )
    usage_tolerance: float = Field(
        0.5, ge=0, le=10,
        description="With `tokenizer`: how far (relative, plus 2 tokens) a stream's `usage` may be from the tokenizer's "
        "count before it is set aside for that count and the request is counted in `usage_mismatches`.",
    )
    drain: Duration = Field(
        5.0,
        description="After the last phase ends, in-flight requests get this long to finish and are recorded with what they "
        "measured; the rest are `abandoned` (the harness gave up on them: reported, never counted against the target).",
    )
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature sent with each request.")
    workers: int = Field(1, ge=1, le=64, description="Local Locust worker processes.")
    expect_workers: int = Field(
        0, ge=0, le=1024, description="Remote workers (`brownout worker --master HOST:PORT`) the run waits for before it starts."
    )
    worker_timeout: Duration = Field(60.0, description="How long to wait for every worker to connect before failing.")
    master_bind: str = Field(
        "127.0.0.1:0",
        description="HOST:PORT the Locust master listens on when there are several workers (port 0: any free port). "
        "Remote workers need an address they can reach, e.g. 0.0.0.0:5557.",
    )
    seed: int = Field(42, description="Seed for arrivals and prompts: the same seed sends the same requests.")

    @model_validator(mode="after")
    def _workflow_fits(self) -> "Load":
        if (self.request == "workflow") != (self.workflow is not None):
            raise ValueError("workflow goes with request: workflow, and request: workflow needs workflow")
        if self.workflow is not None and self.http is not None and self.http.body is not None:
            raise ValueError("request: workflow sends its own chat body: http.body does not apply")
        if self.workflow is not None and getattr(self.dataset, "sessions", None) is not None:
            raise ValueError("request: workflow runs its own loop: the dataset cannot have sessions too")
        return self

    @field_validator("master_bind")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if not _HOST_PORT.match(value) or int(value.rpartition(":")[2]) > 65535:
            raise ValueError(f"'{value}' is not HOST:PORT (e.g. 127.0.0.1:0 or 0.0.0.0:5557)")
        return value
