"""Console passwords: change your own, and an admin's reset of someone else's (who must then
choose a new one at their next sign-in).

Both follow the one policy (server/passwords.py) through Auth, which also ends the user's
console sessions; after changing their own, the person at the desk gets a fresh session.
Must not hold SQL nor the policy itself.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.auth import Principal, new_csrf_token
from server.console.page import flash, page, render, see_other, text
from server.errors import ApiError
from server.passwords import MIN_LENGTH, problem
from server.store import accounts
from sync.roles import PARTNER


def _form(request: Request, who: Principal, status: int = 200,
          errors: dict[str, str] | None = None, target: str | None = None) -> Response:
    return render(request, "password.html", who, status, errors=errors or {}, target=target,
                  min_length=MIN_LENGTH)


@page(password_change=True)
async def change_password(request: Request, who: Principal) -> Response:
    if request.method == "GET":
        return _form(request, who)
    form = await request.form()
    new = text(form, "new_password", 300)
    errors: dict[str, str] = {}  # every problem at once, beside its field
    if not text(form, "current_password", 300):
        errors["current_password"] = "Enter your current password."
    if weak := problem(new, who.username):
        errors["new_password"] = weak
    if new != text(form, "confirm_password", 300):
        errors["confirm_password"] = "The two new passwords differ."
    if errors:
        return _form(request, who, 422, errors)
    try:
        await request.app.state.auth.change_password(who, text(form, "current_password", 300),
                                                     new)
    except ApiError as exc:
        field = exc.field or "current_password"
        message = exc.message[:1].upper() + exc.message[1:].rstrip(".") + "."
        return _form(request, who, 403 if exc.status == 403 else 422, {field: message})
    # Every session of the user ended with the old password; this desk gets a new one.
    request.session.clear()
    request.session.update({"user_id": who.user_id, "csrf": new_csrf_token()})
    flash(request, "ok", "Password changed. Other sessions were signed out; devices keep "
                         "syncing.")
    return see_other(request, "partner_home" if who.role == PARTNER else "dashboard")


@page("admin")
async def reset_password(request: Request, who: Principal) -> Response:
    db = request.app.state.db
    found = await accounts.list_users(db, who.organisation_id,
                                      int(request.path_params["user_id"]))
    if not found:  # none, or another service's
        raise ApiError(404, "not_found", "There is no such user.")
    username = found[0]["username"]
    if request.method == "GET":
        return _form(request, who, target=username)
    try:
        await request.app.state.auth.reset_password(
            username, text(await request.form(), "password", 300))
    except ApiError as exc:
        return _form(request, who, 422, {"password": exc.message}, target=username)
    flash(request, "ok", f"Reset the password of {username}: they choose a new one when they "
                         "next sign in.")
    return see_other(request, "users")


routes = [
    Route("/password", change_password, methods=["GET", "POST"], name="change_password"),
    Route("/admin/users/{user_id:int}/password", reset_password, methods=["GET", "POST"],
          name="reset_password"),
]
