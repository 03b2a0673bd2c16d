"""The `watchbook partner` and `watchbook share` commands: partner organisations and their
users, and shares made, listed and ended from the command line (server/cli.py delegates
here). Owns their arguments and what the operator sees; the work is server/partners.py's.
Shares made, listed and ended here are of the owning service `--service` names (the only one
when there is just one) and name 'watchbook command' as who made or ended them. Must not print or log a password.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from server import clock, partners, servicecli
from server.auth import Auth
from server.errors import ApiError
from server.settings import Settings
from server.sharing import KINDS, PROFILES, SENSITIVE, fields_of, status
from server.store import shares
from server.store.database import Database

T = TypeVar("T")
Run = Callable[[Settings, Callable[[Database], Awaitable[Any]]], Any]


def _job(run: Run, settings: Settings, job: Callable[[Database], Awaitable[T]]) -> T | None:
    """Run one job; an ApiError is printed naming its field, and gives None."""
    try:
        result: T = run(settings, job)
        return result
    except ApiError as exc:
        where = f"{exc.field.replace('_', '-')}: " if exc.field else ""
        print(f"{where}{exc.message}", file=sys.stderr)
        return None


def add_parsers(sub: Any, db: argparse.ArgumentParser,
                settings_of: Callable[[argparse.Namespace], Settings], run: Run) -> None:
    """Add `partner` and `share` to the `watchbook` command's subparsers."""
    def cmd_partner_add(args: argparse.Namespace) -> int:
        async def job(d: Database) -> int:
            return await partners.add_organisation(d, args.name, args.kind,
                                                   await servicecli.service_id(d, args))
        made = _job(run, settings_of(args), job)
        if made is None:
            return 1
        print(f"Added partner organisation {args.name} ({args.kind}), id {made}")
        return 0

    def cmd_partner_user(args: argparse.Namespace) -> int:
        settings = settings_of(args)
        password = args.password
        if password is None:
            password = getpass.getpass(f"Password for {args.username}: ")

        async def job(d: Database) -> int:
            service = await servicecli.service_id(d, args)
            org = await partners.partner_named(d, args.organisation, service)
            auth = Auth(d, settings)
            try:
                return await partners.add_partner_user(auth, args.username, args.name,
                                                       int(org["id"]), password, args.role,
                                                       service=service)
            finally:
                auth.close()
        if _job(run, settings, job) is None:
            return 1
        print(f"Added {'crew' if args.role == 'crew' else 'partner'} user {args.username} "
              f"of {args.organisation}")
        return 0

    def cmd_add(args: argparse.Namespace) -> int:
        async def job(d: Database) -> int:
            service = await servicecli.service_id(d, args)
            org = await partners.partner_named(d, args.partner, service)
            form = {"partner": str(org["id"]), "purpose": args.purpose,
                    "profile": args.profile, "expires_on": args.expires,
                    "stations": (args.stations or "").split(","),
                    "levels": (args.levels or "").split(","), "bbox": args.bbox or "",
                    "polygon": open(args.polygon_file, encoding="utf-8").read()
                    if args.polygon_file else "", "uses": args.uses or "",
                    "sensitive": (args.sensitive or "").split(","),
                    "sensitive_reason": args.reason or "",
                    "contribute": "1" if args.contribute else ""}
            return await partners.make_share(d, service, form, partners.COMMAND)
        made = _job(run, settings_of(args), job)
        if made is None:
            return 1
        print(f"Share {made} made with {args.partner}, until {args.expires}")
        return 0

    def cmd_list(args: argparse.Namespace) -> int:
        async def job(d: Database) -> list[Any]:
            return await shares.listing(d, owner_id=await servicecli.service_id(d, args))
        found = _job(run, settings_of(args), job)
        if found is None:
            return 1
        today = clock.today()
        print(f"{'id':>4}  {'status':8}  {'until':10}  {'partner':24}  {'fields':24}  purpose")
        for s in found:
            extra = f"+{'+'.join(s.sensitive)}" if s.sensitive else ""
            print(f"{s.id:>4}  {status(s, today):8}  {s.expires_on:10}  "
                  f"{s.partner_name[:24]:24}  {(s.profile + extra)[:24]:24}  {s.purpose}")
        if args.verbose:
            for s in found:
                print(f"share {s.id}: {', '.join(fields_of(s))}")
        return 0

    def cmd_end(args: argparse.Namespace) -> int:
        async def job(d: Database) -> bool:
            return await partners.end_share(d, await servicecli.service_id(d, args),
                                            args.share, partners.COMMAND)
        ended = _job(run, settings_of(args), job)
        if ended is None:
            return 1
        print(f"Share {args.share} ended: its partner can no longer open it" if ended
              else f"Share {args.share} had ended already")
        return 0

    partner = sub.add_parser("partner", help="manage partner organisations",
                             description="Partner organisations and their users.")
    actions = partner.add_subparsers(dest="partner_command", required=True, metavar="ACTION")
    p = actions.add_parser("add", parents=[db, servicecli.option()], help="add a partner organisation",
                           description="Add a police force, council, ambulance trust or "
                                       "neighbouring fire service.")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--kind", required=True, choices=KINDS)
    p.set_defaults(func=cmd_partner_add)
    p = actions.add_parser("user-add", parents=[db, servicecli.option()], help="add a partner user",
                           description="Add a user of a partner organisation: the partner "
                                       "view only, no device, no station grounds; or, "
                                       "with --role crew, a neighbouring fire service's "
                                       "crew, whose devices hold what is shared with it, "
                                       "read-only.")
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--organisation", required=True, help="the partner organisation's name")
    p.add_argument("--name", required=True, help="full name")
    p.add_argument("--role", choices=("partner", "crew"), default="partner",
                   help="partner (the default) or crew (a neighbouring fire service only)")
    p.add_argument("--password", help="the password (prompted for if left out; prefer that)")
    p.set_defaults(func=cmd_partner_user)

    share = sub.add_parser("share", help="manage shares with partners",
                           description="Make, list and end shares of records with partners.")
    actions = share.add_subparsers(dest="share_command", required=True, metavar="ACTION")
    p = actions.add_parser("add", parents=[db, servicecli.option()], help="make a share",
                           description="Share part of the records with a partner "
                                       "organisation until an expiry date. Each part left "
                                       "out means all of it. Key box and entry codes only "
                                       "with --sensitive and a --reason.")
    p.add_argument("--partner", required=True, help="the partner organisation's name")
    p.add_argument("--purpose", required=True)
    p.add_argument("--expires", required=True, metavar="YYYY-MM-DD",
                   help="access ends as this day begins (00:00 UTC)")
    p.add_argument("--profile", default="operational_summary", choices=list(PROFILES))
    p.add_argument("--stations", metavar="CODES", help="comma-separated station codes")
    p.add_argument("--levels", metavar="LEVELS", help="comma-separated risk levels, e.g. 1,2")
    p.add_argument("--bbox", metavar="W,S,E,N", help="bounding box: min lon, min lat, max "
                                                      "lon, max lat")
    p.add_argument("--polygon-file", metavar="PATH", help="a GeoJSON Polygon (a border strip)")
    p.add_argument("--uses", metavar="USES", help="comma-separated uses, e.g. 'Care home'")
    p.add_argument("--sensitive", metavar="FIELDS",
                   help=f"sensitive fields to share too: {', '.join(SENSITIVE)}")
    p.add_argument("--reason", help="why the sensitive fields are shared (recorded)")
    p.add_argument("--contribute", action="store_true",
                   help="let the partner send observations for supervisors to accept")
    p.set_defaults(func=cmd_add)
    p = actions.add_parser("list", parents=[db, servicecli.option()], help="list shares",
                           description="List shares, newest first, with their status.")
    p.add_argument("--verbose", action="store_true", help="also list each share's fields")
    p.set_defaults(func=cmd_list)
    p = actions.add_parser("end", parents=[db, servicecli.option()], help="end a share now",
                           description="End a share: its partner cannot open it from now.")
    p.add_argument("share", type=int, metavar="SHARE_ID")
    p.set_defaults(func=cmd_end)
