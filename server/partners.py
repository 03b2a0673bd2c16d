"""Partners over their life: partner organisations and their users, shares made and ended
by an owning service's admin, and what a partner user may open (a live share of their own
organisation, checked on every request: nothing is cached). The console and the
`watchbook share` command both call here. Every partner read is recorded here.
Must not hold SQL (server/store/organisations.py, shares.py) nor the field rule
(server/sharing.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from typing import Any

import msgspec

from server import clock
from server import passwords as policy
from server.auth import Auth, Principal
from server.errors import ApiError
from server.sharing import (
    KINDS,
    Share,
    ShareRequest,
    content_changed_at,
    fields_for,
    fields_of,
    information_age,
    is_live,
    parse_request,
    with_siblings,
)
from server.sharing import shared_view as _view
from server.store import organisations, shares
from server.store.database import Database
from sync.protocol import AddObservation
from sync.record import OBSERVATION_CATEGORIES, Observation
from sync.roles import PARTNER

COMMAND = "watchbook command"  # who made or ended a share from the command line
NEIGHBOUR_CREW = "crew"  # a neighbouring fire service's crew: devices, read-only shared records


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid", message, field)


async def add_organisation(db: Database, name: str, kind: str, service: int | None = None
                           ) -> int:
    """A partner organisation of the owning service `service` (or, of kind owner, another
    owning service: server/services.py adds one with its admin)."""
    name = name.strip()
    if not name:
        raise _invalid("name", "The organisation needs a name")
    if len(name) > 200:
        raise _invalid("name", "The name must be at most 200 characters")
    if kind not in (*KINDS, organisations.OWNER):
        raise _invalid("kind", f"The kind must be one of {', '.join(KINDS)} (or owner)")
    try:
        if await organisations.named(db, name):
            raise organisations.NameTaken(name)
        if kind != organisations.OWNER and service is None:
            raise _invalid("service", "A partner organisation belongs to an owning service")
        return await organisations.add(db, name, kind, clock.now("seconds"),
                                       None if kind == organisations.OWNER else service)
    except organisations.NameTaken:
        raise ApiError(409, "invalid", f"There is an organisation named {name!r} already",
                       "name") from None


async def partner_named(db: Database, name: str, service: int) -> dict[str, Any]:
    """A partner organisation of `service` by name (another service's does not exist)."""
    org = await organisations.named(db, name)
    if org is None or org["kind"] == organisations.OWNER or org["owner_id"] != service:
        raise _invalid("partner", f"There is no partner organisation {name!r}")
    return org


def partner_user_problems(username: str, name: str, org: dict[str, Any] | None, role: str,
                          password: str, service: int) -> dict[str, str]:
    """Every problem of a new partner organisation's user at once, {field: sentence}
    (empty when it may be added): `org` is the organisation chosen, as stored, or None."""
    problems: dict[str, str] = {}
    if not username or len(username) > 64 or not username.replace(".", "").replace(
            "-", "").replace("_", "").isalnum():
        problems["username"] = "The username needs 1–64 letters, digits, '.', '-' or '_'"
    if not name:
        problems["name"] = "The user needs a full name"
    if org is None or org["kind"] == organisations.OWNER or org["owner_id"] != service:
        problems["organisation"] = "Choose a partner organisation"
    if role not in (PARTNER, NEIGHBOUR_CREW):
        problems["role"] = (f"A partner organisation's user is a {PARTNER} or, in a "
                            f"neighbouring fire service, {NEIGHBOUR_CREW}")
    elif role == NEIGHBOUR_CREW and org is not None and org["kind"] != "fire":
        problems["role"] = ("Only a neighbouring fire service's users may be crew (their "
                            "devices hold the shared premises)")
    if problem := policy.problem(password, username):
        problems["password"] = problem
    return problems


async def add_partner_user(auth: Auth, username: str, name: str, org_id: int,
                           password: str, role: str = PARTNER, *, service: int) -> int:
    """A partner organisation's user: the partner view only (no device, no grounds); or,
    with role `crew` in a neighbouring fire service, a crew user whose devices hold what is
    shared with that service, read-only (server/crossborder.py), and nothing else."""
    username, name = username.strip(), name.strip()
    org = await organisations.get(auth.db, org_id)
    problems = partner_user_problems(username, name, org, role, password, service)
    if problems:
        field, message = next(iter(problems.items()))
        raise ApiError(422, "weak_password" if field == "password" else "invalid", message,
                       field)
    try:
        return await organisations.add_partner_user(
            auth.db, username, name, org_id, await auth.passwords.hash_async(password),
            clock.now("seconds"), role)
    except organisations.NameTaken:
        raise ApiError(409, "invalid", f"The username {username!r} is taken",
                       "username") from None


async def make_share(db: Database, owner_id: int, form: dict[str, Any], by: str) -> int:
    """Check the form (ApiError 422 naming the field) and record the share."""
    partner_ids = [o["id"] for o in await organisations.partners(db, owner_id)]
    codes = await db.read(lambda c: organisations.station_codes(c, owner_id))
    req: ShareRequest = parse_request(form, clock.today(), partner_ids, codes)
    return await shares.add(db, owner_id, req, by, clock.now("seconds"))


async def owned_share(db: Database, owner_id: int, share_id: int) -> Share:
    """A share of this owning service, else 404 (another service's shares do not exist)."""
    share = await shares.get(db, share_id)
    if share is None or share.owner_id != owner_id:
        raise ApiError(404, "not_found", f"There is no share {share_id}.")
    return share


async def end_share(db: Database, owner_id: int, share_id: int, by: str) -> bool:
    await owned_share(db, owner_id, share_id)
    return await shares.end(db, share_id, by, clock.now("seconds"))


async def live_share(db: Database, who: Principal, share_id: int) -> Share:
    """The share a partner user opens, read fresh: theirs and live, else 404 (not theirs) or
    410 (ended or expired)."""
    if who.role != PARTNER:
        raise ApiError(403, "forbidden", "The partner view is for partner organisations.")
    share = await shares.get(db, share_id)
    if share is None or share.partner_id != who.organisation_id:
        raise ApiError(404, "not_found", f"There is no share {share_id} for your organisation.")
    if not is_live(share, clock.today()):
        raise ApiError(410, "gone", "This share has ended or expired; nothing in it is "
                       "available any more. Ask the owning service for a new one.")
    return await _knowing_siblings(db, share)


async def _knowing_siblings(db: Database, share: Share) -> Share:
    """The share with the others its owner gave the same partner: a record in two live
    shares gets the fields of both (server/sharing.py, `fields_for`)."""
    given = await db.read(lambda c: shares.given_to(c, share.partner_id))
    return with_siblings(share, given)


async def search(db: Database, who: Principal, share: Share, q: str,
                 limit: int = 100) -> list[dict[str, Any]]:
    """The share's records matching every word of `q`, each as the partner may see it;
    the search is recorded."""
    words = [w for w in q.lower().split() if w][:8]
    docs = await db.read(lambda c: shares.candidates(c, share.owner_id, share.scope, words,
                                                     limit=5 * limit))
    today = clock.today()
    views = [v for v in (_view(d, share, today) for d in docs) if v is not None][:limit]
    await shares.record_read(db, clock.now("seconds"), share.id, who.user_id, "search", None,
                             f"q={q[:200]!r}, {len(views)} shown")
    return views


async def ages(db: Database, share: Share, docs: list[dict[str, Any]]
               ) -> dict[str, dict[str, Any]]:
    """Each record's information age (server/sharing.py), by id, from its history."""
    kept = await db.read(lambda c: shares.history(c, [d["id"] for d in docs]))
    now, today = clock.now("seconds"), clock.today()
    return {d["id"]: information_age(d, content_changed_at(
        kept.get(d["id"], []), share, fields_for(d, share, today)), now) for d in docs}


async def open_record(db: Database, who: Principal, share: Share, premises_id: str,
                      kind: str = "view") -> tuple[dict[str, Any], dict[str, Any]]:
    """One record as the partner may see it and its information age, recorded (who, share,
    record, fields); 404 when it is not in the share (outside it, deleted, another service's
    or no such record)."""
    docs = await db.read(lambda c: shares.candidates(c, share.owner_id, share.scope,
                                                     premises_id=premises_id, limit=1))
    view = _view(docs[0], share, clock.today()) if docs else None
    if view is None:
        raise ApiError(404, "not_found", f"There is no premises {premises_id} in this share.")
    served = list(view)  # the share's fields, and a sibling share's holding the record
    await shares.record_read(db, clock.now("seconds"), share.id, who.user_id, kind,
                             premises_id, ",".join(served))
    return view, (await ages(db, share, docs[:1]))[premises_id]


async def contribute(db: Database, sync: Any, who: Principal, share: Share, premises_id: str,
                     category: str, note: str) -> str:
    """A partner's observation about a record in the share, sent through the sync engine as
    an `add_observation` (so it lands open in the owning supervisors' inbox, never changing
    the record itself), with the partner named as its source. Returns the observation's id.
    403 if the share takes no contributions, 404 outside it, 422 naming a bad field."""
    if not share.contribute:
        raise ApiError(403, "forbidden", "This share does not take observations from partners.")
    if category not in OBSERVATION_CATEGORIES:
        raise _invalid("category", "Choose what the observation is about: "
                       + ", ".join(OBSERVATION_CATEGORIES))
    note = note.strip()
    if not note:
        raise _invalid("note", "Write the observation")
    if len(note) > 2000:
        raise _invalid("note", "The observation must be at most 2,000 characters")
    docs = await db.read(lambda c: shares.candidates(c, share.owner_id, share.scope,
                                                     premises_id=premises_id, limit=1))
    if not docs or _view(docs[0], share, clock.today()) is None:
        raise ApiError(404, "not_found", f"There is no premises {premises_id} in this share.")
    doc = docs[0]
    # The engine stamps the observation with the actor's name: the partner is named as the
    # source; its grounds are this one record's station, for this one write only.
    source = dataclasses.replace(who, grounds=(doc["station"],),
                                 name=f"{who.name}, {share.partner_name} (partner)")
    obs_id = "pt" + secrets.token_hex(8)
    mutation = AddObservation(premises_id=premises_id, base_version=int(doc.get("version", 0)),
                              observation=msgspec.convert(
                                  {"id": obs_id, "category": category, "note": note},
                                  Observation))
    receipts = await sync.apply_local(source, [mutation])
    if receipts[0].status == "rejected":
        raise ApiError(422, "invalid", receipts[0].message or "The observation was refused",
                       "note")
    await shares.record_read(db, clock.now("seconds"), share.id, who.user_id, "contribute",
                             premises_id, f"observation {obs_id} ({category})")
    return obs_id


# -- the feed: an API key per share, for partner systems ------------------------------------
KEY_PREFIX = "wbk_"
FEED_PAGE_MAX = 1000


def key_digest(token: str) -> str:
    """How a feed key is stored: SHA-256 of a 256-bit random secret (as device tokens)."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


async def make_key(db: Database, owner_id: int, share_id: int, by: str) -> tuple[int, str]:
    """A new feed key for a live share of this service: (key id, the key, shown once)."""
    share = await owned_share(db, owner_id, share_id)
    if not is_live(share, clock.today()):
        raise ApiError(409, "gone", "This share has ended or expired: it takes no new key.")
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = await shares.add_key(db, share_id, key_digest(token), by, clock.now("seconds"))
    return key_id, token


async def revoke_key(db: Database, owner_id: int, share_id: int, key_id: int) -> bool:
    await owned_share(db, owner_id, share_id)
    return await shares.revoke_key(db, share_id, key_id, clock.now("seconds"))


async def share_for_key(db: Database, authorization: str) -> tuple[Share, int]:
    """The live share behind `Authorization: Bearer wbk_…`, read fresh on every request;
    401 for no or an unknown or revoked key, 410 for an ended or expired share."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.startswith(KEY_PREFIX) or len(token) > 200:
        raise ApiError(401, "unauthorized", "a share's feed key is required "
                       "(Authorization: Bearer wbk_…)", headers={"WWW-Authenticate": "Bearer"})
    row = await shares.key_by_hash(db, key_digest(token))
    if row is None or row["revoked_at"]:
        raise ApiError(401, "unauthorized", "this feed key is unknown or was revoked",
                       headers={"WWW-Authenticate": "Bearer"})
    share = await shares.get(db, int(row["share_id"]))
    if share is None or not is_live(share, clock.today()):
        raise ApiError(410, "gone", "this share has ended or expired")
    return await _knowing_siblings(db, share), int(row["id"])


def parse_cursor(raw: str) -> int:
    if not raw:
        return 0
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise _invalid("cursor", "the cursor must be one a feed page returned")
    return int(raw)


async def feed_page(db: Database, share: Share, key_id: int, cursor: str, limit: int
                    ) -> dict[str, Any]:
    """One page of the share's changes after `cursor`, as the pull protocol has them: records
    (the share's fields only) with each one's information age (`ages`, by id), `deleted`
    (tombstones) and `left` (records that changed and are not in the share now: a follower
    drops them if it holds them). A record is named in `deleted` or `left` only if this
    share's feed served it before (any key): an id the partner was never given is never
    named. From the start (no cursor) only records are listed. Recorded as a feed read, and
    each record served is noted (server/store/shares.py, `record_delivered`)."""
    after = parse_cursor(cursor)
    if not 1 <= limit <= FEED_PAGE_MAX:
        raise _invalid("limit", f"limit must be 1 to {FEED_PAGE_MAX}")
    rows = await db.read(lambda c: shares.changes(c, share.owner_id, after, limit + 1))
    more, rows = len(rows) > limit, rows[:limit]
    today = clock.today()
    records: list[dict[str, Any]] = []
    served: list[dict[str, Any]] = []
    deleted: list[str] = []
    left: list[str] = []
    outside = [pid for _, pid, doc in rows if _view(doc, share, today) is None] if after else []
    given = await db.read(lambda c: shares.delivered(c, share.id, outside))
    for _, pid, doc in rows:
        view = _view(doc, share, today)
        if view is not None:
            records.append(view)
            served.append(doc)
        elif pid not in given:
            continue
        elif doc.get("deleted"):
            deleted.append(pid)
        else:
            left.append(pid)
    top = rows[-1][0] if rows else after
    await shares.record_delivered(db, clock.now("seconds"), share.id, key_id,
                                  [v["id"] for v in records])
    fields = dict.fromkeys(f for v in records for f in v) or fields_of(share)  # the union
    await shares.record_read(db, clock.now("seconds"), share.id, None, "feed", None,
                             f"cursor {after} to {top}: {len(records)} records "
                             f"({', '.join(v['id'] for v in records)[:4000]}); fields "
                             f"{','.join(fields)}", key_id)
    return {"service": share.owner_name, "records": records,
            "ages": await ages(db, share, served), "deleted": deleted, "left": left,
            "cursor": str(top), "more": more}


async def geojson(db: Database, share: Share, key_id: int) -> dict[str, Any]:
    """Every record in the share as a GeoJSON FeatureCollection (the share's fields only);
    recorded as an export."""
    docs = await db.read(lambda c: shares.candidates(c, share.owner_id, share.scope,
                                                     limit=1_000_000))
    today = clock.today()
    features = []
    pairs = [(d, v) for d, v in ((d, _view(d, share, today)) for d in docs) if v is not None]
    age = await ages(db, share, [d for d, _ in pairs])
    for _, view in pairs:
        lat, lon = view.get("lat"), view.get("lon")
        props = {k: v for k, v in view.items() if k not in ("lat", "lon")}
        props["information_age"] = age[view["id"]]
        features.append({"type": "Feature", "id": view["id"], "properties": props,
                         "geometry": {"type": "Point", "coordinates": [lon, lat]}
                         if lat is not None and lon is not None else None})
    await shares.record_read(db, clock.now("seconds"), share.id, None, "export", None,
                             f"GeoJSON, {len(features)} records", key_id)
    return {"type": "FeatureCollection", "features": features}
