"""The console's observations inbox: every open crew observation in the user's grounds, with
accept, accept-and-edit and dismiss (each posted to edit.review_observation, a mutation through
the sync engine). Reads only; the SQL is server/store/observations.py's.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.auth import Principal
from server.console.page import page, render
from server.store.observations import open_observations

LIMIT = 500
CATEGORIES = {"access": "Access", "hazard": "Hazard", "water": "Water", "contact": "Contact",
              "building_works": "Building works", "other": "Other"}


@page()
async def inbox(request: Request, who: Principal) -> Response:
    stations = list(who.grounds)
    items = await request.app.state.db.read(lambda c: open_observations(c, stations, LIMIT))
    return render(request, "observations.html", who, nav="observations", items=items,
                  limit=LIMIT, categories=CATEGORIES)


routes = [Route("/observations", inbox, name="observations")]
