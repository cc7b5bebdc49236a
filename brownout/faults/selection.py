"""Picking which of the matching targets a fault hits, with the share cap as a safety rail."""

from __future__ import annotations

import math
import random
from typing import Sequence, TypeVar

from brownout.errors import RefusedError
from brownout.spec.faults.common import Selection

__all__ = ["pick"]

T = TypeVar("T")


def pick(candidates: Sequence[T], selection: Selection, *, seed: int, salt: str) -> list[T]:
    """Choose targets per `selection`, reproducibly for a seed and fault name (`salt`).

    Refuses (rule `no-targets`) when nothing matches, and (rule `max-share`) when
    the pick would hit more than `selection.max_share` of the candidates, unless
    the spec asked for `all` explicitly and set max_share to 1.
    """
    total = len(candidates)
    if total == 0:
        raise RefusedError("no-targets", "the selector matched nothing; refusing to guess")
    if selection.mode == "one":
        wanted = 1
    elif selection.mode == "count":
        wanted = min(int(selection.count or 1), total)
    elif selection.mode == "percent":
        wanted = max(1, math.floor(total * float(selection.percent or 0) / 100))
    else:
        wanted = total
    if wanted / total > selection.max_share + 1e-9:
        raise RefusedError(
            "max-share",
            f"would hit {wanted} of {total} targets ({wanted / total:.0%}), above max_share {selection.max_share:.0%}; "
            "raise select.max_share to allow it",
        )
    rng = random.Random(f"{seed}:{salt}")
    return rng.sample(list(candidates), wanted)
