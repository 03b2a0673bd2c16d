"""The OpenAPI 3.1 document at /api/openapi.json, built by walking the app's routes: paths and
methods come from the routes, the rest from the `Operation` each API endpoint carries
(`@operation(...)`: summary, msgspec request and response types, roles, query parameters).

A leaf: the API modules import it, it imports none of them. Never written by hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from sync.roles import ROLES

E = TypeVar("E", bound=Callable[..., Any])

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "field": {"type": ["string", "null"]}},
    }},
}


@dataclass(frozen=True, eq=False)
class Operation:
    """What the document says about one endpoint beyond its path and methods."""

    summary: str
    request: Any = None        # the msgspec type of the JSON body, if any
    response: Any = None       # the msgspec type of the JSON answer; None or dict: an object
    roles: tuple[str, ...] = ROLES  # who may call it with a device token; (): no token
    status: int = 200          # the success status
    query: Sequence[dict[str, Any]] = ()  # OpenAPI parameters read from the query string
    # Keys that replace the generated ones (a binary request body); `responses` are added.
    overrides: dict[str, Any] = field(default_factory=dict)


def operation(summary: str, **details: Any) -> Callable[[E], E]:
    """Mark an endpoint as an API operation: `@operation("One premises record", response=T)`."""
    def mark(endpoint: E) -> E:
        endpoint.openapi = Operation(summary, **details)  # type: ignore[attr-defined]
        return endpoint
    return mark


def operations(routes: Sequence[BaseRoute], prefix: str = ""
               ) -> Iterator[tuple[str, str, Operation]]:
    """(method, path, Operation) for every marked endpoint, walking into mounts."""
    for route in routes:
        if isinstance(route, Mount):
            yield from operations(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            op = getattr(route.endpoint, "openapi", None)
            if isinstance(op, Operation):
                path = re.sub(r"{(\w+)(:\w+)?}", r"{\1}", prefix + route.path)
                for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                    yield method.lower(), path, op


def document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    ops = list(operations(routes))
    types = list(dict.fromkeys(t for _, _, op in ops for t in (op.request, op.response)
                               if t is not None and t is not dict))
    schemas, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}")
    by_type = dict(zip(types, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for method, path, spec in ops:
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                  for n in re.findall(r"{(\w+)}", path)]
        params += [{"in": "query", **q} for q in spec.query]
        op: dict[str, Any] = {
            "summary": spec.summary,
            "operationId": (method + path).replace("/", "_").replace("{", "").replace("}", ""),
            "responses": {
                str(spec.status): {
                    "description": "OK",
                    "content": {"application/json": {
                        "schema": by_type.get(spec.response, {"type": "object"})}}},
                "4XX": {"description": "Client error",
                        "content": {"application/json": {"schema": ERROR_SCHEMA}}},
            },
        }
        if params:
            op["parameters"] = params
        extra = dict(spec.overrides)
        op["responses"].update(extra.pop("responses", {}))
        op.update(extra)
        if spec.roles:
            op["security"] = [{"deviceToken": []}]
            op["x-roles"] = list(spec.roles)
        if spec.request is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": by_type[spec.request]}}}
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Watchbook API", "version": "1",
                 "description": "Site-specific risk information for fire crews, offline-first."},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"deviceToken": {
                "type": "http", "scheme": "bearer",
                "description": "A device token from POST /api/devices/enrol"},
                "shareKey": {"type": "http", "scheme": "bearer",
                             "description": "A share's feed key (wbk_…), made by the owning "
                                            "service's admin in the console"}},
        },
    }


async def openapi_json(request: Request) -> Response:
    """The document for this app's routes, built on first request and kept."""
    body = getattr(request.app.state, "openapi_json", None)
    if body is None:
        body = request.app.state.openapi_json = msgspec.json.encode(
            document(request.app.routes))
    return Response(body, media_type="application/json")


routes = [Route("/openapi.json", openapi_json)]
