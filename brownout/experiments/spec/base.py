"""The strict base every spec model extends."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Name", "StrictModel"]


class StrictModel(BaseModel):
    """Unknown keys are errors and models are immutable.

    A typo such as `duraton: 30s` must fail validation rather than silently
    fall back to a default: in a chaos experiment the default may mean
    "hit everything for the whole run".
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


_NAME = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")

Name = Annotated[
    str,
    Field(
        pattern=_NAME.pattern,
        description="Lower-case identifier (letters, digits, '.', '_', '-'; at most 63 characters), used in reports and journals.",
    ),
]
