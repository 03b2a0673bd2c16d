"""Read-only records a device holds from other services (issue 15): the live shares given to
its organisation on this deployment (a neighbouring fire service, or another owning service)
and the records this server follows from another Watchbook's feed (server/follow.py). Owns
the pull's shared part — its changes, its `left_scope`, its part of the cursor — and which
targets of a push are read-only. A record is the share's fields only (server/sharing.py)
plus a `shared` mark: the owning service, the source, the information age. The engine's pull
is untouched: its page comes first, the shared part is spliced onto its last page.
Must not hold SQL (server/store/shares.py, follows.py) nor merge rules.
"""

from __future__ import annotations

import base64
import dataclasses
import heapq
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from server import clock
from server.auth import Principal
from server.sharing import (
    Share,
    content_changed_at,
    fields_of,
    information_age,
    is_live,
    with_siblings,
)
from server.sharing import shared_view as _view
from server.store import follows, organisations, records, shares
from server.store.database import Database
from sync.protocol import encoder, page_tail
from sync.roles import PARTNER

SEPARATOR = "."                   # engine cursor "." shared cursor (base64url has no ".")
RECEIVING_KINDS = ("fire", organisations.OWNER)  # whose devices get what is shared with them
FOLLOWED_PREFIX = "f"             # a followed record's id on devices: f<follow id>-<its id>


@dataclass(frozen=True)
class Source:
    """Where read-only records come from: a live share (`s<id>`) or a followed feed (`f<id>`)."""

    key: str
    service: str                   # the owning service's name, shown on the device
    share: Share | None = None
    follow_id: int | None = None


class SharedCursor(msgspec.Struct, array_like=True):
    seq: int                       # the change sequence delivered up to
    sources: list[str]             # the source keys it was issued for


def split_cursor(cursor: str) -> tuple[str, SharedCursor | None, bool]:
    """(the engine's cursor, the shared part or None, whether the shared part was readable).
    A cursor from before any share (no separator) has no shared part and is readable."""
    own, sep, theirs = cursor.partition(SEPARATOR)
    if not sep:
        return own, None, True
    try:
        raw = base64.urlsafe_b64decode(theirs + "=" * (-len(theirs) % 4))
        return own, msgspec.json.decode(raw, type=SharedCursor), True
    except (ValueError, msgspec.DecodeError, msgspec.ValidationError):
        return own, None, False


def join_cursor(own: str, shared: SharedCursor | None) -> str:
    if shared is None:
        return own
    text = base64.urlsafe_b64encode(msgspec.json.encode(shared)).decode().rstrip("=")
    return own + SEPARATOR + text


def followed_id(follow_id: int, premises_id: str) -> str:
    return f"{FOLLOWED_PREFIX}{follow_id}-{premises_id}"


def parse_followed_id(device_id: str) -> tuple[int, str] | None:
    head, dash, rest = device_id.partition("-")
    if not dash or not head.startswith(FOLLOWED_PREFIX) or not head[1:].isdigit() or not rest:
        return None
    return int(head[1:]), rest


def mark(view: dict[str, Any], source: Source, age: dict[str, Any],
         device_id: str | None = None) -> dict[str, Any]:
    """A record as a device holds it read-only: its fields, and who owns it and how old."""
    out = dict(view)
    if device_id is not None:
        out["id"] = device_id
    out["shared"] = {"service": source.service, "source": source.key, "read_only": True,
                     "source_id": view.get("id"), "age": age}
    return out


# -- what a page holds (pure, over rows read in one snapshot) --------------------------------
Row = tuple[int, str, str, dict[str, Any] | None, dict[str, Any]]  # seq, key, id, doc, age


@dataclass
class Page:
    records: list[tuple[int, dict[str, Any]]]   # (seq, the record as marked)
    left: list[str]
    top: int
    more: bool
    given: dict[int, list[str]]                 # share id -> ids served (audit, memory)


# -- the I/O edges -----------------------------------------------------------------------------
class CrossBorder:
    """The read-only part of a device's replica, over the server's database."""

    def __init__(self, db: Database, page_rows: int = 1000):
        self.db, self.page_rows = db, page_rows

    async def sources(self, who: Principal) -> list[Source]:
        """The live shares given to the device user's organisation (a neighbouring fire
        service or an owning service) and the feeds followed for it; none for a partner user
        (who has no device) nor an organisation of another kind."""
        if who.role == PARTNER:
            return []
        today, org = clock.today(), who.organisation_id

        def find(conn: sqlite3.Connection) -> list[Source]:  # one read: every pull asks
            if organisations.kind_of(conn, org) not in RECEIVING_KINDS:
                return []
            given = shares.given_to(conn, org)
            found = [Source(f"s{s.id}", s.owner_name, share=with_siblings(s, given))
                     for s in given if is_live(s, today) and s.owner_id != org]
            found += [Source(f"f{f['id']}", f["service"] or f["url"], follow_id=int(f["id"]))
                      for f in follows.of_organisation(conn, org)]
            return sorted(found, key=lambda s: s.key)
        return await self.db.read(find)

    async def read_only(self, who: Principal, premises_ids: Iterable[str]) -> dict[str, str]:
        """Which of these records the user's devices hold read-only: id -> owning service."""
        ids = sorted(set(premises_ids))
        srcs = await self.sources(who) if ids else []
        if not srcs:
            return {}
        today = clock.today()

        def find(conn: sqlite3.Connection) -> dict[str, str]:
            out: dict[str, str] = {}
            docs = [(owner, d) for owner, d in shares.docs(conn, ids)
                    if d.get("station") not in who.grounds]  # its own: the engine decides
            for s in srcs:
                if s.share is not None:
                    out.update({d["id"]: s.service for owner, d in docs
                                if owner == s.share.owner_id
                                and _view(d, s.share, today) is not None})
            for pid in ids:
                parsed = parse_followed_id(pid)
                src = next((s for s in srcs if parsed and s.follow_id == parsed[0]), None)
                if src is not None and parsed and follows.held(conn, parsed[0], [parsed[1]]):
                    out[pid] = src.service
            return out
        return await self.db.read(find)

    async def pull(self, who: Principal, cursor: str, limit: int | None,
                   own: Callable[[str], Awaitable[bytes]]) -> bytes:
        """One pull page: the engine's (`own`, given its part of the cursor), and on its last
        page the shared part's changes after the shared cursor. A device with no source
        and no shared cursor gets the engine's page untouched."""
        engine_cursor, shared, readable = split_cursor(cursor)
        if not readable:
            engine_cursor, shared = "!", None  # unreadable: the engine resets the whole scope
        srcs = await self.sources(who)
        body = await own(engine_cursor)
        if not srcs and (shared is None or not shared.sources):
            return body  # nothing shared, now or at the cursor: the engine's page as it is
        found = page_tail(body)
        if found is None:  # not an engine page (never): leave it as it is
            return body
        head, tail = body[:found[0]], found[1]
        if tail.reset:
            shared = None  # the whole scope restarts: the shared part too
        if tail.more:
            tail.cursor = join_cursor(tail.cursor, shared or SharedCursor(0, []))
            return head + b"]," + encoder.encode(tail)[1:]
        rows = max(1, min(limit or self.page_rows, self.page_rows))
        grounds = frozenset(who.grounds)
        page = await self.db.read(lambda c: self._page(c, srcs, shared, rows, grounds))
        await self._note(who, srcs, page)
        tail.more = page.more
        if tail.total is not None:  # a pass from the start: "N of M" counts these too
            tail.total += len(page.records)
        given = {r["id"] for _, r in page.records}  # shared now: not gone from the device
        tail.left_scope = list(dict.fromkeys([*(x for x in tail.left_scope if x not in given),
                                              *page.left]))
        tail.cursor = join_cursor(tail.cursor, SharedCursor(page.top, [s.key for s in srcs]))
        items = b",".join(b'{"type":"premises","seq":%d,"record":%s}' % (seq, encoder.encode(r))
                          for seq, r in page.records)
        glue = b"," if items and not head.endswith(b"[") else b""
        return head + glue + items + b"]," + encoder.encode(tail)[1:]

    def _page(self, conn: sqlite3.Connection, srcs: Sequence[Source],
              cur: SharedCursor | None, rows: int, grounds: frozenset[str] = frozenset()
              ) -> Page:
        """The shared changes after the cursor, read in one snapshot. A source the cursor did
        not know restarts the shared part from the beginning (records are sent again, which
        a device takes as updates); a source gone (a share ended or expired) names every
        record it gave as leaving, unless another source still gives it. A record of
        the device's own grounds is the engine's to send, whole: never shared, never named."""
        today, now = clock.today(), clock.now("seconds")
        keys = [s.key for s in srcs]
        known = set(cur.sources) if cur is not None else set()
        since = cur.seq if cur is not None else 0
        left: list[str] = []
        for key in sorted(known - set(keys)):
            if key.startswith("s") and key[1:].isdigit():
                left += shares.delivered_all(conn, int(key[1:]))
        streams: list[list[Row]] = []
        for s in srcs:
            after = since if s.key in known else 0  # a new source: from its beginning
            if s.share is not None:
                got = shares.changes(conn, s.share.owner_id, after, rows + 1,
                                     scope=s.share.scope if after == 0 else None)
                streams.append([(seq, s.key, pid, doc, {}) for seq, pid, doc in got])
            elif s.follow_id is not None:
                streams.append([(seq, s.key, followed_id(s.follow_id, pid), doc, age)
                                for seq, pid, doc, age in
                                follows.changes(conn, s.follow_id, after, rows + 1)])
        merged = list(heapq.merge(*streams, key=lambda r: r[0]))
        more = len(merged) > rows
        merged = merged[:rows]
        top = merged[-1][0] if more else max(records.last_change_seq(conn), since)
        by_key = {s.key: s for s in srcs}
        out: dict[str, tuple[int, dict[str, Any]]] = {}
        given: dict[int, list[str]] = {}
        for s in srcs:  # records out of a share now: named only if the share gave them before
            if s.share is None or s.key not in known:
                continue
            out_ids = [pid for _, key, pid, doc, _ in merged if key == s.key
                       and (doc is None or _view(doc, s.share, today) is None)]
            left += sorted(shares.delivered(conn, s.share.id, out_ids, shares.DEVICE_RECORD))
        views: list[tuple[int, Source, dict[str, Any], dict[str, Any]]] = []
        for seq, key, pid, doc, age in merged:
            src = by_key[key]
            if src.share is not None:
                view = _view(doc, src.share, today) if doc is not None else None
                if view is not None and view["station"] not in grounds:
                    views.append((seq, src, view, doc or {}))
            elif doc is not None:
                out[pid] = (seq, mark(doc, src, age, device_id=pid))
            elif key in known:
                left.append(pid)
        kept = shares.history(conn, [v["id"] for _, _, v, _ in views])
        for seq, src, view, doc in views:
            assert src.share is not None
            changed = content_changed_at(kept.get(view["id"], []), src.share, view)
            if view["id"] not in out:  # a record in two shares: already the union of fields
                out[view["id"]] = (seq, mark(view, src, information_age(doc, changed, now)))
                given.setdefault(src.share.id, []).append(view["id"])
        left = [pid for pid in dict.fromkeys(left) if pid not in out]
        if left:  # still given by a live share (a record in two shares): it stays
            live = [s.share for s in srcs if s.share is not None]
            shown = {d["id"] for owner, d in shares.docs(conn, left)
                     if d.get("station") in grounds
                     or any(owner == sh.owner_id and _view(d, sh, today) is not None
                            for sh in live)}
            left = [pid for pid in left if pid not in shown]
        return Page(sorted(out.values(), key=lambda x: x[0]), left, top, more, given)

    async def _note(self, who: Principal, srcs: Sequence[Source], page: Page) -> None:
        """Each share's records given to a device: noted (the `left` rule's memory) and in
        the share's access log, one row per page that gave any."""
        if not page.given:
            return
        now = clock.now("seconds")
        by_id = {s.share.id: s.share for s in srcs if s.share is not None}
        served = {r["id"]: r for _, r in page.records}

        def go(conn: sqlite3.Connection) -> None:
            for share_id, ids in page.given.items():
                fields = dict.fromkeys(f for pid in ids for f in served.get(pid, {})
                                       if f != "shared") or fields_of(by_id[share_id])
                shares.record_device_page(
                    conn, now, share_id, who.user_id, ids,
                    f"device {who.device_id or '?'}: {len(ids)} records "
                    f"({', '.join(ids)[:4000]}); fields {','.join(fields)}")
        await self.db.write(go)


def with_read_only(actor: Any, read_only: dict[str, str]) -> Any:
    """The engine's actor holding these records read-only (sync/engine.py Rule 6c)."""
    return dataclasses.replace(actor, read_only=read_only) if read_only else actor
