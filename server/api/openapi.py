"""The OpenAPI 3.1 document at /api/openapi.json, generated from the msgspec types that
validate requests and shape responses (never written by hand).

Each API module lists its operations in `OPENAPI_OPERATIONS` (and the query parameters they
read in an optional `QUERY_PARAMETERS`); this module only assembles them.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import msgspec

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


def _modules() -> list[Any]:
    from server.api import blobs, read, sync
    return [read, sync, blobs]


def _operations() -> list[tuple[str, str, str, Any, Any, tuple[str, ...]]]:
    return [op for m in _modules() for op in getattr(m, "OPENAPI_OPERATIONS", [])]


def _overrides() -> dict[tuple[str, str], dict[str, Any]]:
    """Each module's optional OPENAPI_OVERRIDES: {(method, path): {key: value}}; `responses`
    are added to the generated ones, any other key replaces (a binary request body)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for m in _modules():
        out.update(getattr(m, "OPENAPI_OVERRIDES", {}))
    return out


def _query_parameters() -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Each module's optional QUERY_PARAMETERS: {(method, path): [OpenAPI parameter, ...]}."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for m in _modules():
        out.update(getattr(m, "QUERY_PARAMETERS", {}))
    return out


@cache
def document() -> dict[str, Any]:
    ops = _operations()
    types = [t for op in ops for t in (op[3], op[4]) if t is not None and t is not dict]
    schemas, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}")
    by_type = dict(zip(types, schemas, strict=True))
    queries = _query_parameters()
    overrides = _overrides()
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, req, resp, roles in ops:
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                  for n in re.findall(r"{(\w+)}", path)]
        params += [{"in": "query", **q} for q in queries.get((method, path), [])]
        op: dict[str, Any] = {
            "summary": summary,
            "operationId": (method + path).replace("/", "_").replace("{", "").replace("}", ""),
            "responses": {
                "200" if method == "get" else "201" if path.endswith("enrol") else "200": {
                    "description": "OK",
                    "content": {"application/json": {
                        "schema": by_type.get(resp, {"type": "object"})}}},
                "4XX": {"description": "Client error",
                        "content": {"application/json": {"schema": ERROR_SCHEMA}}},
            },
        }
        if params:
            op["parameters"] = params
        extra = dict(overrides.get((method, path), {}))
        op["responses"].update(extra.pop("responses", {}))
        op.update(extra)
        if roles:
            op["security"] = [{"deviceToken": []}]
            op["x-roles"] = list(roles)
        if req is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": by_type[req]}}}
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
                "description": "A device token from POST /api/devices/enrol"}},
        },
    }
