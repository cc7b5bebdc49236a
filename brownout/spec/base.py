"""The strict base every spec model extends, and the shared `Name` type."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = ["NAME_PATTERN", "Name", "StrictModel"]


class StrictModel(BaseModel):
    """Unknown keys are errors and models are immutable.

    A typo such as `duraton: 30s` must fail validation rather than silently
    fall back to a default: in a chaos experiment the default may mean
    "hit everything for the whole run".
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


NAME_PATTERN = r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$"
_NAME = re.compile(NAME_PATTERN)


def _check_name(value: str) -> str:
    """Say what a name may hold; pydantic's own message would only quote the regex."""
    if not _NAME.match(value):
        raise ValueError(
            f"'{value}' is not a valid name: use 1 to 63 lower-case letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit"
        )
    return value


Name = Annotated[
    str,
    AfterValidator(_check_name),
    Field(
        json_schema_extra={"pattern": NAME_PATTERN},
        description="Lower-case identifier (letters, digits, '.', '_', '-'; at most 63 characters), used in reports and journals.",
    ),
]
