"""The base every config section derives from, and the field types sections share.

A section forbids unknown keys (a misspelt key is an error, not a silent default) and is
frozen: the tree is validated once at start-up and only read afterwards.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Identifier = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$",
          description="lower-case letters, digits, '-' and '_'"),
]
"""A camera or zone id: it appears in topics, file names and URLs, hence the narrow alphabet."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
