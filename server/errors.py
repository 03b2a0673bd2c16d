"""API errors: one exception type and the JSON shape every 4xx takes.

`{"error": {"code", "message", "field"}}`; must not log or echo secrets.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from sync.validation import problem_of


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers or {}
        self.extra = extra


def error_body(code: str, message: str, field: str | None = None, **extra: Any) -> bytes:
    return msgspec.json.encode({"error": {"code": code, "message": message, "field": field,
                                          **extra}})


def json_error(status: int, code: str, message: str, field: str | None = None,
               headers: dict[str, str] | None = None, **extra: Any) -> Response:
    return Response(error_body(code, message, field, **extra), status_code=status,
                    media_type="application/json", headers=headers)


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return json_error(exc.status, exc.code, exc.message, exc.field, exc.headers, **exc.extra)


def from_validation(exc: msgspec.ValidationError | msgspec.DecodeError) -> ApiError:
    """Turn msgspec's message ("Expected `int`, got `str` - at `$.items[0].seq`") into a 400/422
    naming the field."""
    found = problem_of(exc)
    if isinstance(exc, msgspec.ValidationError):
        return ApiError(422, "invalid", found.message, found.path)
    return ApiError(400, "malformed_json", f"request body is not valid JSON: {found.message}",
                    found.path)


def decode_body(body: bytes, type_: Any) -> Any:
    """Decode and validate a JSON body against a msgspec type, or raise ApiError."""
    try:
        return msgspec.json.decode(body, type=type_)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise from_validation(exc) from None
