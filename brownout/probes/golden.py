"""Golden-set probe: cycles through a file of prompts with expected answers, one item per run.

Each run sends the next item (file order, wrapping around) and judges the answer
with the item's checks (`brownout.spec.checks`). The result names the item and
says whether its answer was `correct`; a run that got no answer to judge (timeout,
5xx, error body) has `correct` None: it counts against probe_success_rate, not
against accuracy, which availability already covers.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
from pydantic import ValidationError

from brownout.errors import ProbeError, SpecError
from brownout.spec.probes import GoldenItem, GoldenProbe, Probe, first_problem
from brownout.probes.base import CheckFailed, ProbeCheck, expect_status, json_body
from brownout.probes.chat import answer_text
from brownout.spec.checks import checks_failure
from brownout.probes.target import ProbeTarget
from brownout.rundata.probes import ProbeResult

__all__ = ["GoldenCheck", "LocatedItem", "check_golden_sets", "golden_path", "read_items"]

MAX_ITEMS = 10_000


@dataclasses.dataclass(frozen=True)
class LocatedItem:
    id: str
    line: int
    item: GoldenItem


def golden_path(spec: GoldenProbe, base_dir: Path) -> Path:
    """The golden set's file: `spec.path` relative to the experiment file's directory (as load datasets)."""
    path = Path(spec.path)
    return path if path.is_absolute() else Path(base_dir) / path


def read_items(path: Path) -> list[LocatedItem]:
    """Every item of a JSONL golden set, validated. Raises SpecError at file:line and field."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read golden set: {getattr(exc, 'strerror', None) or exc}", file) from exc
    items: list[LocatedItem] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("//"):
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SpecError(f"invalid JSON: {exc.msg}", file, line, exc.colno) from None
        try:
            item = GoldenItem.model_validate(row)
        except ValidationError as exc:
            field, message = first_problem(exc)
            raise SpecError(message, file, line, None, field) from None
        item_id = item.id or f"line {line}"
        if item_id in seen:
            raise SpecError(f"duplicate item id {item_id!r} (first on line {seen[item_id]})", file, line, None, "id")
        seen[item_id] = line
        items.append(LocatedItem(item_id, line, item))
    if not items:
        raise SpecError("golden set has no items", file)
    if len(items) > MAX_ITEMS:
        raise SpecError(f"golden set has {len(items)} items, over the limit of {MAX_ITEMS}", file)
    return items


def check_golden_sets(probes: Sequence[Probe], base_dir: Path, locate: Callable[[str, str], SpecError]) -> None:
    """Read every golden probe's set before the run starts; a file that cannot be read is an error at the
    probe's `path` (`locate(field, message)`), a bad item one at its own file:line."""
    for index, probe in enumerate(probes):
        if isinstance(probe, GoldenProbe):
            path = golden_path(probe, base_dir)
            if not path.is_file():
                raise locate(f"probes[{index}].path", f"golden set {path} is not a file")
            read_items(path)


class GoldenCheck(ProbeCheck[GoldenProbe]):
    """Runs never overlap (the probe runner skips a tick while one is going), so the item
    in hand and its judgement live on the instance between `run` and `check`."""

    kind = "golden"

    def __init__(self, spec: GoldenProbe) -> None:
        super().__init__(spec)
        self._items: list[LocatedItem] | None = None
        self._next = 0
        self._current: LocatedItem | None = None
        self._correct: bool | None = None

    def items(self, base_dir: Path) -> list[LocatedItem]:
        if self._items is None:
            self._items = read_items(golden_path(self.spec, base_dir))
        return self._items

    async def run(self, client: httpx.AsyncClient, target: ProbeTarget) -> ProbeResult:
        try:
            items = self.items(target.base_dir)
        except SpecError as exc:  # checked before the run starts; a file changed since is a misconfigured probe
            raise ProbeError(f"probe '{self.name}': {exc}") from exc
        self._current, self._correct = items[self._next % len(items)], None
        self._next += 1
        result = await super().run(client, target)
        return dataclasses.replace(result, item=self._current.id, correct=self._correct)

    async def check(self, client: httpx.AsyncClient, target: ProbeTarget) -> float | None:
        assert self._current is not None, "run() picks the item"
        item = self._current.item
        messages = item.messages or [{"role": "user", "content": item.prompt or ""}]
        request = {
            "model": self.spec.model or target.model,
            "messages": messages,
            "max_tokens": item.max_tokens or self.spec.max_tokens,
            "temperature": 0,
            "stream": False,
        }
        response = await client.post(
            target.url("/v1/chat/completions"), json=request, headers=dict(target.headers), timeout=self.timeout
        )
        expect_status(response)
        text = answer_text(json_body(response), allow_empty=True)
        failure = checks_failure(item.checks, text)
        self._correct = failure is None
        if failure:
            raise CheckFailed(f"wrong answer: item {self._current.id!r}: answer {failure}")
        return None
