"""The roles a user may hold, the one list of them: sync/ and server/ both read it.

Owns the names and which roles edit risk records; must not decide what a role may reach
(that is auth's and the engine's).
"""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["crew", "supervisor", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)  # the owning service's staff
PARTNER = "partner"  # a partner organisation's user: the partner view only, no device, no grounds
EDITORS: tuple[Role, ...] = ("supervisor", "admin")  # edit risk records, use the console
