"""Simulated GPU memory of one replica: weights take a fixed share, KV cache the rest.

The `gpu-oom` fault shrinks the memory a replica may use; a request whose KV
allocation no longer fits gets a CUDA-style out-of-memory error, as vLLM and TGI
do when another tenant grabs the GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GpuModel", "oom_message"]

_MiB = 2**20
_GiB = 2**30


@dataclass(frozen=True)
class GpuModel:
    """Memory layout of a replica with `total` bytes: weights, then KV cache up to `kv_share`."""

    total: int
    kv_cache_tokens: int
    weights_share: float
    kv_share: float = 0.4

    @property
    def weights(self) -> int:
        return int(self.total * self.weights_share)

    @property
    def bytes_per_token(self) -> int:
        return max(1, int(self.total * self.kv_share) // self.kv_cache_tokens)

    def needed(self, kv_tokens: int) -> int:
        """Bytes in use once `kv_tokens` tokens of KV cache are allocated."""
        return self.weights + kv_tokens * self.bytes_per_token


def oom_message(model: GpuModel, kv_in_use: int, request_tokens: int, available: int) -> str:
    """The text PyTorch prints, so log scrapers and probes that look for it match."""
    in_use = model.needed(kv_in_use)
    ask = request_tokens * model.bytes_per_token
    free = max(0, available - in_use)
    return (
        f"CUDA out of memory. Tried to allocate {ask / _MiB:.2f} MiB "
        f"(GPU 0; {available / _GiB:.2f} GiB total capacity; {in_use / _GiB:.2f} GiB already allocated; "
        f"{free / _MiB:.2f} MiB free)"
    )
