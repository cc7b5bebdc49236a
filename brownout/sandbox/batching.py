"""Continuous batching, the way vLLM-style servers schedule decode.

One loop steps the batch: every step lasts `decode_step * (1 + 0.03 * running)`
(plus the prefill of sequences admitted in that step) and gives each running
sequence one token. A sequence reserves prompt + max_tokens tokens of KV cache;
when the budget or `max_running` is full, new sequences wait in FIFO order, so
TTFT grows under load exactly where real servers' does. The loop sleeps on an
event while nothing runs: an idle replica costs no CPU.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

__all__ = ["BatchScheduler", "Sequence", "step_time"]

_BATCH_SLOWDOWN = 0.03


def step_time(decode_step: float, running: int, prefill_tokens: int, prefill_per_token: float) -> float:
    """Duration of one scheduler step: a larger batch decodes slower; prefill blocks the step."""
    return decode_step * (1 + _BATCH_SLOWDOWN * running) + prefill_tokens * prefill_per_token


@dataclass(eq=False)
class Sequence:
    """One request inside the scheduler. `tokens` receives the running count of generated tokens."""

    prompt_tokens: int
    output_tokens: int
    kv_tokens: int
    tokens: asyncio.Queue[int] = field(default_factory=asyncio.Queue)
    generated: int = 0
    cancelled: bool = False


class BatchScheduler:
    """Admits sequences under the KV and batch-size budgets and steps them together."""

    def __init__(self, *, max_running: int, kv_cache_tokens: int, decode_step: float, prefill_per_token: float) -> None:
        self.max_running = max_running
        self.kv_cache_tokens = kv_cache_tokens
        self.decode_step = decode_step
        self.prefill_per_token = prefill_per_token
        self.waiting: deque[Sequence] = deque()
        self.running: list[Sequence] = []
        self.kv_used = 0
        self._wake = asyncio.Event()

    @property
    def kv_usage(self) -> float:
        return self.kv_used / self.kv_cache_tokens

    def submit(self, seq: Sequence) -> None:
        self.waiting.append(seq)
        self._wake.set()

    def cancel(self, seq: Sequence) -> None:
        """Forget a sequence whose client went away (its KV is freed on the next step)."""
        seq.cancelled = True
        if seq in self.waiting:
            self.waiting.remove(seq)

    def _admit(self) -> list[Sequence]:
        admitted: list[Sequence] = []
        while self.waiting and len(self.running) < self.max_running:
            head = self.waiting[0]
            if self.kv_used + head.kv_tokens > self.kv_cache_tokens:
                break
            self.waiting.popleft()
            self.kv_used += head.kv_tokens
            self.running.append(head)
            admitted.append(head)
        return admitted

    def _retire(self, seq: Sequence) -> None:
        self.running.remove(seq)
        self.kv_used -= seq.kv_tokens

    async def run(self) -> None:
        """The scheduler loop; runs until cancelled."""
        while True:
            for seq in [s for s in self.running if s.cancelled]:
                self._retire(seq)
            admitted = self._admit()
            if not self.running:
                self._wake.clear()
                await self._wake.wait()
                continue
            prefill = sum(s.prompt_tokens for s in admitted)
            await asyncio.sleep(step_time(self.decode_step, len(self.running), prefill, self.prefill_per_token))
            for seq in list(self.running):
                if seq.cancelled:
                    continue
                seq.generated += 1
                seq.tokens.put_nowait(seq.generated)
                if seq.generated >= seq.output_tokens:
                    self._retire(seq)
