"""Offline token counting with tiktoken and a local BPE ranks file the user provides.

No package ships an LLM vocabulary and nothing may be downloaded at run time,
so the ranks come from `load.tokenizer.encoding_file`. We read that file
ourselves instead of with `tiktoken.load.load_tiktoken_bpe`, which also
accepts URLs and caches by *path* in a temp folder (an edited file at the same
path would be read stale); our reader also names the bad line.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

import tiktoken

from brownout.errors import LoadError
from brownout.spec.load import TiktokenTokenizer

__all__ = ["PATTERNS", "TokenCounter", "load_tokenizer", "read_ranks"]

# Split patterns of tiktoken's cl100k_base and r50k_base encodings (tiktoken_ext/openai_public.py).
PATTERNS = {
    "cl100k": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
    "r50k": r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""",
}


class TokenCounter:
    """Counts tokens of text; special-token strings in the text count as ordinary text."""

    def __init__(self, encoding: tiktoken.Encoding) -> None:
        self._encoding = encoding

    def count(self, text: str) -> int:
        return len(self._encoding.encode_ordinary(text))


def read_ranks(path: Path) -> dict[bytes, int]:
    """Parse a `.tiktoken` file (`BASE64_TOKEN RANK` per line). Raises LoadError naming file and line."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise LoadError(f"tokenizer file {path}: {exc.strerror or exc}") from exc
    ranks: dict[bytes, int] = {}
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            token_text, rank_text = line.split()
            token, rank = base64.b64decode(token_text, validate=True), int(rank_text)
        except (ValueError, binascii.Error):
            raise LoadError(f"tokenizer file {path}:{number}: expected 'BASE64_TOKEN RANK', got {line[:60]!r}") from None
        ranks[token] = rank
    missing = [b for b in range(256) if bytes([b]) not in ranks]
    if missing:
        raise LoadError(f"tokenizer file {path}: {len(missing)} single bytes have no rank (e.g. 0x{missing[0]:02x}); "
                        "every byte needs one so any text can be encoded")
    if len(set(ranks.values())) != len(ranks):
        raise LoadError(f"tokenizer file {path}: two tokens share a rank")
    return ranks


def load_tokenizer(spec: TiktokenTokenizer | None, base_dir: Path) -> TokenCounter | None:
    """The counter a load's `tokenizer` asks for (None when it asks for none); the path is relative to base_dir."""
    if spec is None:
        return None
    path = Path(spec.encoding_file)
    if not path.is_absolute():
        path = Path(base_dir) / path
    ranks = read_ranks(path)
    encoding = tiktoken.Encoding(path.stem, pat_str=PATTERNS[spec.pattern], mergeable_ranks=ranks, special_tokens={})
    return TokenCounter(encoding)
