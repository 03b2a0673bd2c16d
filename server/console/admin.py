"""Console admin pages: users (list, add, one user's page: role, home station, extra grounds,
their devices, disable, enable) and devices (list; retire — it sends what it holds, then clears
itself — or revoke a lost one with the wipe order, each after a confirmation page); password
resets are in password.py.

Admins only, of their own owning service: a user or device of another service is a 404.
Accounts are added and devices retired or revoked through Auth; profiles, disabling (which
revokes the user's devices with the wipe order) and enabling through server/users.py. Must not
hold SQL or touch premises records.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import grounds, passwords
from server import users as people
from server.auth import Principal
from server.console.page import flash, page, render, see_other, text
from server.errors import ApiError
from server.store import accounts, stations
from sync.roles import PARTNER, ROLES


def _new_user_defaults(station_rows: list[dict[str, Any]]) -> dict[str, str]:
    """A valid form as it stands: a crew member of the first station, or an admin while the
    service has no stations yet."""
    if station_rows:
        return {"role": "crew", "station": station_rows[0]["code"]}
    return {"role": "admin", "station": ""}


async def _render_users(request: Request, who: Principal, status: int = 200,
                        errors: dict[str, str] | None = None,
                        entered: dict[str, str] | None = None) -> Response:
    db = request.app.state.db
    station_rows = await stations.listing(db, who.organisation_id)
    return render(request, "users.html", who, status, nav="users",
                  users=await accounts.list_users(db, who.organisation_id),
                  stations=station_rows,
                  roles=ROLES, errors=errors or {}, min_length=passwords.MIN_LENGTH,
                  entered=entered or _new_user_defaults(station_rows))


@page("admin")
async def users(request: Request, who: Principal) -> Response:
    return await _render_users(request, who)


@page("admin")
async def add_user(request: Request, who: Principal) -> Response:
    form = await request.form()
    entered = {k: text(form, k, 200) for k in ("username", "name", "role", "station")}
    password = text(form, "password", 256)
    errors: dict[str, str] = {}
    if not entered["username"]:
        errors["username"] = "Enter a username."
    if not entered["name"]:
        errors["name"] = "Enter the person's name."
    if entered["role"] not in ROLES:
        errors["role"] = "Choose a role."
    if entered["role"] != "admin" and not entered["station"]:
        errors["station"] = "Crews and supervisors need a home station."
    if weak := passwords.problem(password, entered["username"]):
        errors["password"] = weak
    if not errors and entered["station"]:
        try:  # a station in service (a retired one takes nobody)
            await request.app.state.db.read(
                lambda c: grounds.check_not_retired(c, entered["station"], "station",
                                                    who.organisation_id))
        except ApiError as exc:
            errors["station"] = exc.message.capitalize() + "."
    if not errors:
        try:
            await request.app.state.auth.add_user(
                entered["username"], entered["name"], entered["role"],
                entered["station"] or None, password, service=who.organisation_id)
        except ApiError as exc:
            errors[exc.field or "username"] = exc.message.capitalize() + "."
    if errors:
        return await _render_users(request, who, 422, errors, entered)
    flash(request, "ok", f"Added {entered['name']} ({entered['username']}).")
    return see_other(request, "users")


async def _the_user(request: Request, who: Principal) -> dict[str, Any]:
    """The user of the path if they are of the admin's service; else 404."""
    user_id = int(request.path_params["user_id"])
    found = await accounts.list_users(request.app.state.db, who.organisation_id, user_id)
    if not found:
        raise ApiError(404, "not_found", "There is no such user.")
    return found[0]


async def _render_user(request: Request, who: Principal, status: int = 200,
                       errors: dict[str, str] | None = None,
                       entered: dict[str, Any] | None = None) -> Response:
    db = request.app.state.db
    person = await _the_user(request, who)
    return render(request, "user.html", who, status, nav="users", person=person,
                  partner_user=person["organisation_id"] != who.organisation_id,
                  stations=await stations.listing(db, who.organisation_id), roles=ROLES,
                  errors=errors or {},
                  entered=entered or {**person, "station": person["station"] or ""},
                  devices=await accounts.list_devices(db, who.organisation_id,
                                                      user_id=person["id"]))


@page("admin")
async def user_page(request: Request, who: Principal) -> Response:
    return await _render_user(request, who)


@page("admin")
async def edit_user(request: Request, who: Principal) -> Response:
    person = await _the_user(request, who)
    form = await request.form()
    entered: dict[str, Any] = {k: text(form, k, 200) for k in ("name", "role", "station")}
    entered["extra_grounds"] = [v for v in form.getlist("grounds") if isinstance(v, str)][:200]
    errors: dict[str, str] = {}  # every problem at once; users.edit stops at the first
    if not entered["name"].strip():
        errors["name"] = "Enter the person's name."
    elif len(entered["name"].strip()) > 200:
        errors["name"] = "The name is longer than 200 characters."
    partner_user = person["organisation_id"] != who.organisation_id  # a partner org's
    if partner_user:  # a police user or a neighbouring service's crew: the name only
        if entered["role"] and entered["role"] != person["role"]:
            errors["role"] = (f"A partner organisation's user keeps the {person['role']} "
                              "role (Sharing, in the console).")
        if entered["station"]:
            errors["station"] = ("A partner organisation's user has no home station here: "
                                 "they see only what is shared with their organisation.")
        if entered["extra_grounds"]:
            errors["grounds"] = ("A partner organisation's user has no grounds here: they "
                                 "see only what is shared with their organisation.")
    elif person["id"] == who.user_id and entered["role"] != "admin":
        errors["role"] = "You cannot take away your own admin role."
    elif person["role"] != PARTNER and entered["role"] not in ROLES:
        errors["role"] = "Choose a role."
    if not partner_user and entered["role"] in ROLES and entered["role"] != "admin" \
            and not entered["station"]:
        errors["station"] = f"A {entered['role']} needs a home station."
    live = {s["code"] for s in await stations.listing(request.app.state.db, who.organisation_id)
            if not s["retired_at"]}
    if entered["station"] and entered["station"].strip().upper() not in live:
        errors["station"] = f"No station in service with code {entered['station']}."
    unknown = [c for c in grounds.parse_codes(entered["extra_grounds"]) if c not in live]
    if unknown:
        errors["grounds"] = f"No station in service with code {', '.join(unknown)}."
    if errors:
        return await _render_user(request, who, 422, errors, entered)
    try:
        await people.edit(request.app.state.db, person["id"], name=entered["name"],
                          role=None if partner_user else entered["role"],
                          station=None if partner_user else entered["station"],
                          extra=None if partner_user else entered["extra_grounds"],
                          service=who.organisation_id)
    except ApiError as exc:
        message = exc.message[:1].upper() + exc.message[1:] + "."
        return await _render_user(request, who, exc.status if exc.status < 500 else 422,
                                  {exc.field or "form": message}, entered)
    flash(request, "ok", f"Saved {entered['name']} ({person['username']}); their devices "
          "get the new grounds at their next sync.")
    return see_other(request, "user", user_id=person["id"])


async def _set_disabled(request: Request, who: Principal, disabled: bool) -> Response:
    user_id = int(request.path_params["user_id"])
    if user_id == who.user_id and disabled:
        raise ApiError(409, "invalid", "You cannot disable your own account.")
    db = request.app.state.db
    username = (await _the_user(request, who))["username"]
    if disabled:
        revoked = await people.disable(db, user_id)
        flash(request, "ok", f"Disabled {username}. " + (
            f"Their {revoked} device(s) will wipe their local data at their next contact."
            if revoked else "They have no live devices."))
    else:
        await people.enable(db, user_id)
        flash(request, "ok", f"Enabled {username}. They enrol their devices again by signing "
              "in to the app.")
    return see_other(request, "user", user_id=user_id)


@page("admin")
async def disable_user(request: Request, who: Principal) -> Response:
    return await _set_disabled(request, who, True)


@page("admin")
async def enable_user(request: Request, who: Principal) -> Response:
    return await _set_disabled(request, who, False)


@page("admin")
async def devices(request: Request, who: Principal) -> Response:
    user_filter = request.query_params.get("user", "")
    user_id: int | None = None
    if user_filter:
        if not (user_filter.isascii() and user_filter.isdigit() and len(user_filter) <= 15):
            raise ApiError(400, "invalid", "The user filter must be a user's number.", "user")
        user_id = int(user_filter)
    rows = await accounts.list_devices(request.app.state.db, who.organisation_id,
                                       user_id=user_id)
    return render(request, "devices.html", who, nav="devices", devices=rows,
                  user_filter=user_filter)


@page("admin")
async def revoke_device(request: Request, who: Principal) -> Response:
    device_id = request.path_params["device_id"]
    row = await _device(request, who)
    wipe = text(await request.form(), "wipe", 10) == "1"
    await request.app.state.auth.revoke_device(device_id, wipe=wipe, by=who.username)
    flash(request, "ok", f"Revoked {row['name']} ({device_id})"
          + ("; it will wipe its local data." if wipe else "."))
    if text(await request.form(), "back", 10) == "user":
        return see_other(request, "user", user_id=row["user_id"])
    return see_other(request, "devices")


async def _device(request: Request, who: Principal) -> dict[str, Any]:
    """The device of the path, with its user, if its user is of the admin's service; else
    404."""
    found = await accounts.list_devices(request.app.state.db, who.organisation_id,
                                        device_id=request.path_params["device_id"])
    if not found:
        raise ApiError(404, "not_found", "There is no such device.")
    return found[0]


async def _confirm(request: Request, who: Principal, action: str) -> Response:
    """The confirmation page of a retire or a revoke: the device, its user, its last sync and
    how many changes it last reported unsent."""
    device = await _device(request, who)
    back = "user" if request.query_params.get("back") == "user" else ""
    return render(request, "device_confirm.html", who, nav="devices", device=device,
                  action=action, back=back,
                  retiring=device["wipe"] == accounts.RETIRE_ORDERED and not device["revoked_at"])


@page("admin")
async def confirm_retire(request: Request, who: Principal) -> Response:
    return await _confirm(request, who, "retire")


@page("admin")
async def confirm_revoke(request: Request, who: Principal) -> Response:
    return await _confirm(request, who, "revoke")


@page("admin")
async def retire_device(request: Request, who: Principal) -> Response:
    device = await _device(request, who)
    if await request.app.state.auth.retire_device(device["id"], by=who.username):
        flash(request, "ok", f"Retiring {device['name']} ({device['id']}): at its next sync it "
              "sends what it holds, then signs out and clears itself.")
    else:
        flash(request, "error", f"{device['name']} ({device['id']}) is already revoked.")
    if text(await request.form(), "back", 10) == "user":
        return see_other(request, "user", user_id=device["user_id"])
    return see_other(request, "devices")


routes = [
    Route("/admin/users", users, name="users"),
    Route("/admin/users", add_user, methods=["POST"], name="add_user"),
    Route("/admin/users/{user_id:int}", user_page, name="user"),
    Route("/admin/users/{user_id:int}", edit_user, methods=["POST"], name="edit_user"),
    Route("/admin/users/{user_id:int}/disable", disable_user, methods=["POST"],
          name="disable_user"),
    Route("/admin/users/{user_id:int}/enable", enable_user, methods=["POST"],
          name="enable_user"),
    Route("/admin/devices", devices, name="devices"),
    Route("/admin/devices/{device_id}/revoke", revoke_device, methods=["POST"],
          name="revoke_device"),
    Route("/admin/devices/{device_id}/retire", retire_device, methods=["POST"],
          name="retire_device"),
    Route("/admin/devices/{device_id}/retire", confirm_retire, name="confirm_retire"),
    Route("/admin/devices/{device_id}/revoke", confirm_revoke, name="confirm_revoke"),
]
