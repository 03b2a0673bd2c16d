"""The `watchbook follow` command: follow another Watchbook server's partner feed (server/
follow.py does the work), once or every N seconds, and `--list` what is followed. Owns its
arguments and what the operator sees (server/cli.py delegates here). Must not print or log
the key.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from server import follow, servicecli
from server.errors import ApiError
from server.settings import Settings
from server.store import follows
from server.store.database import Database

Run = Callable[[Settings, Callable[[Database], Awaitable[Any]]], Any]


def add_parsers(sub: Any, db: argparse.ArgumentParser,
                settings_of: Callable[[argparse.Namespace], Settings], run: Run) -> None:
    """Add `follow` to the `watchbook` command's subparsers."""
    def once(args: argparse.Namespace, key: str) -> int:
        async def job(d: Database) -> follow.Outcome:
            async with httpx.AsyncClient(follow_redirects=False) as client:
                return await follow.follow_once(d, client, args.url, key,
                                                organisation_id=await servicecli.service_id(
                                                    d, args), name=args.name or "")
        try:
            out: follow.Outcome = run(settings_of(args), job)
        except follow.FollowError as exc:
            print(f"Nothing changed: {exc}", file=sys.stderr)
            return 1
        except ApiError as exc:
            print(f"{exc.field or 'follow'}: {exc.message}", file=sys.stderr)
            return 2
        if out.ended:
            print(f"Stopped: {out.message}; {out.dropped} followed records dropped from this "
                  "server and its devices", file=sys.stderr)
            return 1
        print(f"Followed {follow.feed_url(args.url)}: {out.stored} records stored, "
              f"{out.dropped} dropped, {out.pages} pages")
        return 0

    def cmd_follow(args: argparse.Namespace) -> int:
        if args.list:
            found = run(settings_of(args), follows.listing)
            for f in found:
                state = f"error: {f['last_error']}" if f["last_error"] else "ok"
                print(f"{f['id']:>3}  {f['records']:>6} records  {f['service'] or '?':24}  "
                      f"{f['url']}  for {f['receiver'] or '?'}  "
                      f"last run {f['last_run_at'] or 'never'} ({state})")
            return 0
        if not args.url or not args.key_file:
            print("follow: give the leader's URL and --key-file (or --list)", file=sys.stderr)
            return 2
        try:
            with open(args.key_file, encoding="utf-8") as fh:
                key = follow.read_key(fh.read())
        except OSError as exc:
            print(f"key-file: cannot read {args.key_file}: {exc.strerror}", file=sys.stderr)
            return 2
        except ApiError as exc:
            print(f"key-file: {exc.message}", file=sys.stderr)
            return 2
        if not args.every:
            return once(args, key)
        try:
            while True:
                once(args, key)
                time.sleep(args.every)
        except KeyboardInterrupt:
            return 0

    p = sub.add_parser("follow", parents=[db, servicecli.option()], help="follow another Watchbook's partner feed",
                       description="Follow a share of another Watchbook server (a "
                                   "neighbouring service): its records are stored here and "
                                   "served read-only to the devices of the owning service "
                                   "--service names (the only one by default). The key "
                                   "file holds the share's feed key (wbk_…).")
    p.add_argument("url", metavar="URL", nargs="?",
                   help="the other server's address, or its /api/partner/feed")
    p.add_argument("--key-file", help="a file holding the share's feed key")
    p.add_argument("--every", type=int, metavar="SECONDS", default=0,
                   help="keep following, a run every SECONDS (default: one run)")
    p.add_argument("--name", help="the owning service's name shown on devices "
                   "(default: the one the feed gives)")
    p.add_argument("--list", action="store_true", help="list the feeds followed")
    p.set_defaults(func=cmd_follow)
