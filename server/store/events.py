"""The audit log's SQL: events (sign-ins, device enrolments and revocations, exports) and the
one filtered, paged view over them, the change history (`audit`) and views of sensitive
fields (`sensitive_views`), newest first, of one owning service at a time. Owns no rule about
who may read it (the console page is admins only). Must not store secrets: no passwords, tokens or field values.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from server.store.database import Database

KINDS = ("sign_in", "enrol", "revoke", "export")

LOG = """
SELECT at, kind, username, device, premises_id, station, detail FROM (
  SELECT a.server_time AS at, 'change: ' || coalesce(json_extract(a.entry, '$.kind'), '') AS kind,
         json_extract(a.entry, '$.user') AS username,
         json_extract(a.entry, '$.device_id') AS device, a.premises_id, p.station,
         '' AS detail, a.id AS n, 1 AS src
  FROM audit a JOIN premises p ON p.id = a.premises_id
  JOIN stations s ON s.code = p.station
  WHERE s.organisation_id = ?
  UNION ALL
  SELECT e.at, e.kind, u.username, e.device_id, e.premises_id,
         coalesce(e.station, u.station), e.detail, e.id, 2
  FROM events e LEFT JOIN users u ON u.id = e.user_id
  LEFT JOIN premises p ON p.id = e.premises_id
  LEFT JOIN stations s ON s.code = coalesce(e.station, p.station)
  WHERE coalesce(u.organisation_id, s.organisation_id, 1) = ?
  UNION ALL
  SELECT v.at, 'sensitive view', u.username, NULL, v.premises_id, p.station,
         v.fields || ' (' || v.channel || ')', v.id, 3
  FROM sensitive_views v LEFT JOIN users u ON u.id = v.user_id
  LEFT JOIN premises p ON p.id = v.premises_id
  LEFT JOIN stations s ON s.code = p.station
  WHERE coalesce(s.organisation_id, u.organisation_id) = ?
) AS log WHERE 1 = 1{where}
ORDER BY at DESC, src, n DESC LIMIT ? OFFSET ?
"""


@dataclass(frozen=True)
class LogFilter:
    """Each set field narrows the log: exact user name, device id, premises id, station, and
    an inclusive date range (ISO dates)."""
    user: str = ""
    device: str = ""
    premises: str = ""
    station: str = ""
    since: str = ""
    until: str = ""


async def add(db: Database, at: str, kind: str, user_id: int | None,
              device_id: str | None = None, detail: str = "", station: str | None = None,
              premises_id: str | None = None) -> None:
    await db.execute_write(
        "INSERT INTO events (at, kind, user_id, device_id, station, premises_id, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", (at, kind, user_id, device_id, station, premises_id,
                                         detail))


def log(conn: sqlite3.Connection, f: LogFilter, limit: int, offset: int, service: int
        ) -> list[dict[str, Any]]:
    """One page of one owning service's log, newest first: changes to records under its
    stations, events of its users (or, with no user, of its stations and records), views of
    its records' sensitive fields. An event of no user, station or record (older command-line
    exports) is the first service's (id 1): it was the only one when they were written."""
    where, params = "", []  # type: str, list[Any]
    for column, value in (("username", f.user), ("device", f.device),
                          ("premises_id", f.premises), ("station", f.station)):
        if value:
            where += f" AND {column} = ?"
            params.append(value)
    if f.since:
        where += " AND at >= ?"
        params.append(f.since)
    if f.until:
        where += " AND at < ?"
        params.append(f.until + "\uffff")  # the whole of the last day
    rows = conn.execute(LOG.format(where=where),
                        [service, service, service, *params, limit, offset]).fetchall()
    return [dict(r) for r in rows]


def add_in(conn: Any, at: str, kind: str, user_id: int | None, device_id: str | None = None,
           detail: str = "", station: str | None = None, premises_id: str | None = None
           ) -> None:
    """`add` inside the caller's transaction (an event that commits with what it records)."""
    conn.execute("INSERT INTO events (at, kind, user_id, device_id, station, premises_id, "
                 "detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (at, kind, user_id, device_id, station, premises_id, detail))
