"""Every problem of a console form at once, from a checker that stops at the first (it raises
ApiError naming the field): each field found wrong is set to a sound stand-in and the form is
checked again. Pure: no I/O, no SQL, no request; the checker is handed in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from server.errors import ApiError

T = TypeVar("T")


def every_error(check: Callable[[dict[str, Any]], T], form: Mapping[str, Any],
                stand_ins: Mapping[str, Any]) -> tuple[T | None, dict[str, str]]:
    """(what `check` made, {}) or (None, {field: sentence} for every problem found). A field
    with no stand-in ends the search: what was found so far is reported."""
    probe = dict(form)
    errors: dict[str, str] = {}
    for _ in range(len(stand_ins) + 1):
        try:
            made = check(probe)
        except ApiError as exc:
            field = exc.field or "form"
            errors.setdefault(field, exc.message.rstrip(".") + ".")
            if field not in stand_ins or probe.get(field) == stand_ins[field]:
                return None, errors
            probe[field] = stand_ins[field]
            continue
        return (None, errors) if errors else (made, {})
    return None, errors
