"""Console admin pages: users (list, add, disable, enable) and devices (list, revoke with wipe).

Admins only. Accounts are added and devices revoked through Auth; enabling and disabling a
user is a flag on the users table, owned here. Must not touch premises records.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.auth import Principal
from server.console.page import flash, page, render, see_other, text
from server.errors import ApiError
from sync.roles import ROLES

USER_COLUMNS = (
    "SELECT u.id, u.username, u.name, u.role, u.station, u.disabled, u.created_at, "
    "(SELECT count(*) FROM devices d WHERE d.user_id = u.id AND d.revoked_at IS NULL) "
    "AS active_devices, (SELECT max(d.last_seen) FROM devices d WHERE d.user_id = u.id) "
    "AS last_seen FROM users u")


async def _render_users(request: Request, who: Principal, status: int = 200,
                        errors: dict[str, str] | None = None,
                        entered: dict[str, str] | None = None) -> Response:
    db = request.app.state.db
    users = (await db.execute(USER_COLUMNS + " ORDER BY u.disabled, u.username")).dicts()
    stations = (await db.execute("SELECT code, name FROM stations ORDER BY code")).dicts()
    return render(request, "users.html", who, status, nav="users", users=users,
                  stations=stations, roles=ROLES, errors=errors or {},
                  entered=entered or {"role": "crew"})


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
    if len(password) < 8:
        errors["password"] = "Use a password of at least 8 characters."
    if not errors:
        try:
            await request.app.state.auth.add_user(
                entered["username"], entered["name"], entered["role"],
                entered["station"] or None, password)
        except ApiError as exc:
            errors[exc.field or "username"] = exc.message.capitalize() + "."
    if errors:
        return await _render_users(request, who, 422, errors, entered)
    flash(request, "ok", f"Added {entered['name']} ({entered['username']}).")
    return see_other(request, "users")


async def _set_disabled(request: Request, who: Principal, disabled: bool) -> Response:
    user_id = int(request.path_params["user_id"])
    if user_id == who.user_id and disabled:
        raise ApiError(409, "invalid", "You cannot disable your own account.")
    db = request.app.state.db
    row = (await db.execute("SELECT username FROM users WHERE id = ?", (user_id,))).first()
    if row is None:
        raise ApiError(404, "not_found", "There is no such user.")
    await db.execute_write("UPDATE users SET disabled = ? WHERE id = ?",
                           (1 if disabled else 0, user_id))
    flash(request, "ok", f"{'Disabled' if disabled else 'Enabled'} {row['username']}."
          + (" Their devices can no longer sync." if disabled else ""))
    return see_other(request, "users")


@page("admin")
async def disable_user(request: Request, who: Principal) -> Response:
    return await _set_disabled(request, who, True)


@page("admin")
async def enable_user(request: Request, who: Principal) -> Response:
    return await _set_disabled(request, who, False)


@page("admin")
async def devices(request: Request, who: Principal) -> Response:
    user_filter = request.query_params.get("user", "")
    sql = ("SELECT d.id, d.name, d.created_at, d.last_seen, d.revoked_at, d.wipe, "
           "u.id AS user_id, u.username, u.name AS user_name, u.role, u.station, u.disabled "
           "FROM devices d JOIN users u ON u.id = d.user_id")
    params: tuple[object, ...] = ()
    if user_filter.isdigit():
        sql += " WHERE u.id = ?"
        params = (int(user_filter),)
    sql += " ORDER BY u.username, d.revoked_at IS NOT NULL, d.last_seen DESC"
    rows = (await request.app.state.db.execute(sql, params)).dicts()
    return render(request, "devices.html", who, nav="devices", devices=rows,
                  user_filter=user_filter)


@page("admin")
async def revoke_device(request: Request, who: Principal) -> Response:
    device_id = request.path_params["device_id"]
    db = request.app.state.db
    row = (await db.execute("SELECT name FROM devices WHERE id = ?", (device_id,))).first()
    if row is None:
        raise ApiError(404, "not_found", "There is no such device.")
    wipe = text(await request.form(), "wipe", 10) == "1"
    await request.app.state.auth.revoke_device(device_id, wipe=wipe)
    flash(request, "ok", f"Revoked {row['name']} ({device_id})"
          + ("; it will wipe its local data." if wipe else "."))
    return see_other(request, "devices")


routes = [
    Route("/admin/users", users, name="users"),
    Route("/admin/users", add_user, methods=["POST"], name="add_user"),
    Route("/admin/users/{user_id:int}/disable", disable_user, methods=["POST"],
          name="disable_user"),
    Route("/admin/users/{user_id:int}/enable", enable_user, methods=["POST"],
          name="enable_user"),
    Route("/admin/devices", devices, name="devices"),
    Route("/admin/devices/{device_id}/revoke", revoke_device, methods=["POST"],
          name="revoke_device"),
]
