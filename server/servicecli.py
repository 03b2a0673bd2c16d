"""The `watchbook service` command (add a second owning service with its first admin, rename
one, list them) and the `--service NAME` option of the commands that act on one service's
stations, users, devices and premises (server/cli.py delegates here). Owns their arguments
and what the operator sees; the work is server/services.py's. Must not print a password.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from server import services
from server.auth import Auth
from server.errors import ApiError
from server.settings import Settings
from server.store.database import Database

Run = Callable[[Settings, Callable[[Database], Awaitable[Any]]], Any]
PASSWORD_ENV = "WATCHBOOK_ADMIN_PASSWORD"


def option() -> argparse.ArgumentParser:
    """The `--service NAME` parent parser."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--service", metavar="NAME",
                   help="the owning service (needed when the deployment hosts several; "
                        "`watchbook service list`)")
    return p


async def service_id(db: Database, args: argparse.Namespace) -> int:
    """The id of the service `--service` names (or the only one); ApiError otherwise."""
    return int((await services.named(db, getattr(args, "service", None)))["id"])


def _password(args: argparse.Namespace) -> str | None:
    if args.password_file:
        try:
            lines = Path(args.password_file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            print(f"cannot read --password-file: {exc.strerror}", file=sys.stderr)
            return None
        return lines[0] if lines else ""
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    password = getpass.getpass(f"Password for {args.admin}: ")
    if getpass.getpass("Again: ") != password:
        print("the passwords do not match", file=sys.stderr)
        return None
    return password


def _job(run: Run, settings: Settings, job: Callable[[Database], Awaitable[Any]]) -> Any:
    try:
        return run(settings, job)
    except ApiError as exc:
        where = f"{exc.field.replace('_', '-')}: " if exc.field else ""
        print(f"{where}{exc.message}", file=sys.stderr)
        return None


def add_parsers(sub: Any, db: argparse.ArgumentParser,
                settings_of: Callable[[argparse.Namespace], Settings], run: Run) -> None:
    """Add `service` to the `watchbook` command's subparsers."""
    def cmd_add(args: argparse.Namespace) -> int:
        settings = settings_of(args)
        password = _password(args)
        if password is None:
            return 1

        async def job(d: Database) -> int:
            auth = Auth(d, settings)
            try:
                return await services.add(auth, args.name, args.admin, args.admin_name,
                                          password)
            finally:
                auth.close()
        made = _job(run, settings, job)
        if made is None:
            return 1
        print(f"Added the owning service {' '.join(args.name.split())} (id {made}) with its "
              f"admin {args.admin}. They sign in to /console/ and add its stations, users "
              "and premises; nothing of any other service is visible to them.")
        return 0

    def cmd_rename(args: argparse.Namespace) -> int:
        async def job(d: Database) -> str:
            return await services.rename(d, await service_id(d, args), args.name)
        done = _job(run, settings_of(args), job)
        if done is None:
            return 1
        print(f"Renamed the service: it is now {done}")
        return 0

    def cmd_list(args: argparse.Namespace) -> int:
        rows = run(settings_of(args), services.listing)
        print(f"{'ID':>4}  {'NAME':<40} {'STATIONS':>8} {'USERS':>5}")
        for r in rows:
            print(f"{r['id']:>4}  {r['name'][:40]:<40} {r['stations']:>8} {r['users']:>5}")
        return 0

    service = sub.add_parser("service", help="owning services of this deployment",
                             description="A deployment may host several owning services "
                                         "(a regional deployment); each sees only its own "
                                         "stations, premises, users, devices and audit.")
    actions = service.add_subparsers(dest="service_command", required=True, metavar="ACTION")
    p = actions.add_parser("add", parents=[db], help="add an owning service and its admin",
                           description="Add another owning service with its first admin "
                                       "(the password is asked for, or read from "
                                       f"--password-file or ${PASSWORD_ENV}).")
    p.add_argument("name", metavar="NAME", help="the service's name")
    p.add_argument("--admin", required=True, metavar="USERNAME",
                   help="the first admin's username")
    p.add_argument("--admin-name", required=True, metavar="NAME",
                   help="the first admin's full name")
    p.add_argument("--password-file", metavar="PATH",
                   help="read the admin's password from this file (its first line)")
    p.set_defaults(func=cmd_add)
    p = actions.add_parser("rename", parents=[db, option()], help="rename a service",
                           description="Rename an owning service (the first is called "
                                       "'This service' until renamed).")
    p.add_argument("name", metavar="NEW_NAME")
    p.set_defaults(func=cmd_rename)
    p = actions.add_parser("list", parents=[db], help="list the owning services",
                           description="The owning services with their stations and users.")
    p.set_defaults(func=cmd_list)
