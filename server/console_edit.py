"""Console edits through the sync engine, the conflicts inbox and premises history.

The console is a device: every premises write is a mutation handed to the sync engine, never
SQL here. Until the engine lands these pages say so.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.auth import Principal
from server.console_page import error_page, page


@page()
async def not_yet(request: Request, who: Principal) -> Response:
    return error_page(request, 503, "Not available yet",
                      "Editing, conflicts and history arrive with the sync engine.", who)


routes = [
    Route("/premises/{premises_id}/edit", not_yet, name="premises_edit"),
    Route("/premises/{premises_id}/hazards", not_yet, name="hazards_edit"),
    Route("/premises/{premises_id}/notes", not_yet, name="notes_edit"),
    Route("/premises/{premises_id}/history", not_yet, name="history"),
    Route("/conflicts", not_yet, name="conflicts"),
]
