"""The OpenAPI document is built from the routes: a marked endpoint appears under its mounted
path with its types and roles; an unmarked one does not; the module imports no API module."""

from __future__ import annotations

import ast
from pathlib import Path

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from server.api.openapi import document, operation


class Thing(msgspec.Struct):
    name: str


@operation("Make a thing", request=Thing, response=Thing, status=201,
           query=[{"name": "dry_run", "schema": {"type": "boolean"}}])
async def make(request: Request) -> Response:
    return Response()


async def unlisted(request: Request) -> Response:
    return Response()


def test_a_marked_endpoint_is_documented_at_its_mounted_path() -> None:
    doc = document([Mount("/api", routes=[
        Route("/things/{thing_id:int}", make, methods=["POST"]),
        Route("/hidden", unlisted)])])
    assert list(doc["paths"]) == ["/api/things/{thing_id}"]
    op = doc["paths"]["/api/things/{thing_id}"]["post"]
    assert op["summary"] == "Make a thing"
    assert op["x-roles"] == ["crew", "supervisor", "admin"]
    assert [p["name"] for p in op["parameters"]] == ["thing_id", "dry_run"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Thing"}
    assert "201" in op["responses"] and "Thing" in doc["components"]["schemas"]


def test_the_openapi_module_imports_no_api_module() -> None:
    source = Path(__file__).resolve().parent.parent / "server" / "api" / "openapi.py"
    tree = ast.parse(source.read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and m.startswith("server.api")}
