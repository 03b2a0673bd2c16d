"""msgspec's validation messages, read in one place: "Expected `int`, got `str` - at
`$.mutations[0].seq`" becomes the message, the path `mutations[0].seq`, and the field a
"missing required field `x`" or "unknown field `x`" message names.

Pure; must not decide statuses or wording of its callers' errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

_AT = " - at `$"
_NAMING = ("missing required field `", "unknown field `")


@dataclass(frozen=True)
class Problem:
    message: str       # msgspec's message without its location
    path: str | None   # where it is ("mutations[0].seq", "hazards[2]"); None: the whole value
    named: str | None  # the field a missing/unknown-field message names, if any

    @property
    def field(self) -> str | None:
        """The path down to the named field: `mutations[0].seq` for a missing `seq`."""
        if self.named is None:
            return self.path
        return f"{self.path}.{self.named}" if self.path else self.named

    @property
    def top(self) -> str | None:
        """The top-level field of `field`: `hazards` for `hazards[2].type`."""
        found = self.field
        return found.split("[", 1)[0].split(".", 1)[0] if found else None


def split(text: str) -> tuple[str, str]:
    """msgspec's "Expected ... - at `$.a[0].b`" as ("Expected ...", "a[0].b"); "" when the
    message names no place."""
    message, _, path = text.partition(_AT)
    return message, path.rstrip("`").lstrip(".")


def problem_of(exc: msgspec.ValidationError | msgspec.DecodeError) -> Problem:
    text, path = split(str(exc))
    named = None
    for marker in _NAMING:
        if marker in text:
            named = text.split(marker, 1)[1].split("`", 1)[0]
    return Problem(text, path or None, named)
