"""The `watchbook` command: serve, demo data, import/export, users and migrations.

Owns argument parsing and what the operator sees on the terminal. Each command opens the
Database, migrates, does one job and closes; the work itself lives in the modules it calls
(its SQL in server/store/).
Demo passwords are printed only by demo commands; must not print or log any other secret.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO, TypeVar

from server import backup, blobs, demo, transfer
from server.auth import ROLES, Auth
from server.errors import ApiError
from server.settings import POSTGRES_SERVER_PENDING, Settings
from server.store import accounts, records
from server.store import sync as sync_store
from server.store.database import Database
from server.store.migrations import migrate, schema_version

T = TypeVar("T")
DEMO_DB = Path("var/demo.db")


def _settings(args: argparse.Namespace, demo_mode: bool = False) -> Settings:
    if args.db:
        return Settings.from_env(db_path=Path(args.db), demo=demo_mode, database_url="")
    if demo_mode:  # never fill the configured (real) database with demo data by accident
        return Settings.from_env(db_path=DEMO_DB, demo=True)
    return Settings.from_env()


def _run(settings: Settings, job: Callable[[Database], Awaitable[T]],
         migrate_first: bool = True) -> T:
    async def go() -> T:
        db = await Database(settings.db_path, 1).open()
        try:
            if migrate_first:
                await migrate(db)
            return await job(db)
        finally:
            await db.close()
    return asyncio.run(go())


def _print_demo_sign_ins(users: list[tuple[str, str, str]] | None = None) -> None:
    """The demo accounts as (username, password, role); all of them unless `users` is given."""
    if users is None:
        users = [(u, p, role) for u, _name, role, p in demo.DEMO_USERS]
    if not users:
        return
    print("Demo sign-ins (demo mode only):")
    for username, password, role in users:
        print(f"  {role:<11} username {username!r:<13} password {password!r}")


class ProgressBar:
    """A one-line progress bar on stderr, drawn only on a terminal and for long jobs."""

    def __init__(self, stream: TextIO = sys.stderr, min_total: int = 1000, width: int = 30):
        self.stream, self.min_total, self.width = stream, min_total, width
        self.enabled = stream.isatty()

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled or total < self.min_total:
            return
        filled = self.width * done // max(total, 1)
        self.stream.write(f"\r{phase:<9} [{'#' * filled}{'.' * (self.width - filled)}] "
                          f"{done}/{total}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


# -- commands -------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app

    settings = _settings(args, demo_mode=args.demo)
    if args.demo:
        if not settings.db_path.exists():
            print(f"Creating the demo database {settings.db_path} (2,000 premises, 12 stations)")
            _run(settings, lambda db: demo.load_demo(db, settings))
        _print_demo_sign_ins()
        print(f"Watchbook demo: http://{args.host}:{args.port}/")
    uvicorn.run(create_app(settings), host=args.host, port=args.port,
                access_log=False)  # our JSON request log replaces it (no query strings)
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    settings = _settings(args, demo_mode=True)

    async def job(db: Database) -> int:
        count = await db.read(records.count)
        if count:
            print(f"{settings.db_path} already holds {count} premises; demo data goes into a "
                  "new database (use --db)", file=sys.stderr)
            return 1
        made = await demo.load_demo(db, settings, premises=args.premises,
                                    stations=args.stations, seed=args.seed)
        print(f"Created {args.premises} premises over {args.stations} stations in "
              f"{settings.db_path}")
        _print_demo_sign_ins(made)
        return 0

    if not 1 <= args.stations <= demo.MAX_STATIONS:
        print(f"--stations must be between 1 and {demo.MAX_STATIONS}", file=sys.stderr)
        return 2
    return _run(settings, job)


def cmd_import(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        fmt = transfer.format_for(args.file, args.format)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not Path(args.file).is_file():
        print(f"no such file: {args.file}", file=sys.stderr)
        return 2
    bar = ProgressBar()
    try:
        result = _run(settings, lambda db: transfer.import_file(
            db, settings, args.file, fmt, args.skip_invalid, bar))
    except transfer.InvalidImport as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"Nothing imported: {len(exc.problems)} problem(s). Fix the file, or use "
              "--skip-invalid to import the valid rows.", file=sys.stderr)
        return 1
    for problem in result.skipped:
        print(f"skipped {problem}", file=sys.stderr)
    print(f"Imported {result.written} premises"
          + (f", {result.unchanged} unchanged" if result.unchanged else "")
          + (f", skipped {len(result.skipped)} invalid row(s)" if result.skipped else ""))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        fmt = transfer.format_for(args.file, args.format)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    count = _run(settings, lambda db: transfer.export_file(
        db, args.file, fmt, args.include_sensitive))
    print(f"Exported {count} premises to {args.file}"
          + ("" if args.include_sensitive else
             " (sensitive fields left out; --include-sensitive to keep them)"))
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.role != "admin" and not args.station:
        print(f"a {args.role} needs --station", file=sys.stderr)
        return 2
    password = args.password
    if password is None:
        password = getpass.getpass(f"Password for {args.username}: ")
        if getpass.getpass("Again: ") != password:
            print("the passwords do not match", file=sys.stderr)
            return 1
    if not password:
        print("the password must not be empty", file=sys.stderr)
        return 1
    try:
        _run(settings, lambda db: Auth(db, settings).add_user(
            args.username, args.name, args.role, args.station, password))
    except ApiError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(f"Added {args.role} {args.username}")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    rows = sorted(_run(settings, accounts.list_users), key=lambda r: r["username"])
    print(f"{'USERNAME':<20} {'NAME':<28} {'ROLE':<11} {'STATION':<8} STATUS")
    for r in rows:
        print(f"{r['username']:<20} {r['name']:<28} {r['role']:<11} {r['station'] or '-':<8} "
              f"{'disabled' if r['disabled'] else 'active'}")
    return 0


def cmd_device_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    rows = sorted(_run(settings, lambda db: accounts.list_devices(db, username=args.user)),
                  key=lambda r: (r["username"], r["created_at"]))
    print(f"{'DEVICE':<18} {'USER':<16} {'LAST SEEN':<21} {'STATUS':<9} NAME")
    for r in rows:
        print(f"{r['id']:<18} {r['username']:<16} {r['last_seen'] or '-':<21} "
              f"{'revoked' if r['revoked_at'] else 'active':<9} {r['name']}")
    return 0


def cmd_device_revoke(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def job(db: Database) -> bool:
        known = await accounts.device_row(db, args.device)
        if known:
            await Auth(db, settings).revoke_device(args.device, wipe=not args.keep_data)
        return known is not None
    if not _run(settings, job):
        print(f"no device {args.device}", file=sys.stderr)
        return 1
    print(f"Revoked {args.device}" + ("" if args.keep_data else
                                      "; it will wipe its local data when it next connects"))
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    settings = _settings(args)
    changed = _run(settings, lambda db: accounts.disable_named(db, args.username))
    if not changed:
        print(f"no user {args.username!r}", file=sys.stderr)
        return 1
    print(f"Disabled {args.username}; their devices can no longer sync")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings.database_url and not args.db:
        return _migrate_postgres(settings.database_url)

    async def job(db: Database) -> tuple[int, int]:
        before = await schema_version(db)
        await migrate(db)
        return before, await schema_version(db)

    before, after = _run(settings, job, migrate_first=False)
    print(f"Schema version {before} -> {after}" if before != after
          else f"Schema version {after} (up to date)")
    return 0


def _migrate_postgres(url: str) -> int:
    from server.store.postgres import migrations as pg
    from server.store.postgres.database import PgDatabase

    async def go() -> tuple[int, int]:
        db = await PgDatabase(url, 1).open()
        try:
            before = await pg.schema_version(db)
            return before, await pg.migrate(db)
        finally:
            await db.close()
    before, after = asyncio.run(go())
    print(f"PostgreSQL schema version {before} -> {after}" if before != after
          else f"PostgreSQL schema version {after} (up to date)")
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    settings = _settings(args)
    days = settings.blob_gc_grace_days if args.grace_days is None else args.grace_days
    store = blobs.BlobStore(settings.blobs_path)
    report = _run(settings, lambda db: db.write(
        lambda c: blobs.collect(c, store, days * 86400, dry_run=args.dry_run)))
    print(f"{'Would remove' if args.dry_run else 'Removed'} {len(report.removed)} unreferenced "
          f"attachment(s); kept {report.kept_referenced} referenced and {report.kept_recent} "
          f"younger than {days} days")
    return 0


def cmd_purge_tombstones(args: argparse.Namespace) -> int:
    settings = _settings(args)
    before = (dt.datetime.now(dt.UTC) - dt.timedelta(days=args.older_than_days)).isoformat(
        timespec="seconds").replace("+00:00", "Z")

    async def job(db: Database) -> int:
        upto = await sync_store.tombstone_seq_before(db, before)
        return await sync_store.purge_tombstones(db, upto) if upto else 0
    removed = _run(settings, job)
    print(f"Purged {removed} deleted premises older than {args.older_than_days} days"
          + ("; devices whose cursor is older will download their scope again" if removed
             else ""))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        report = backup.backup(settings.db_path, args.path)
    except backup.BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    files = backup.copy_files(settings.blobs_path, backup.blobs_beside(args.path))
    print(f"Backed up {settings.db_path} to {report.path}: {report.premises} premises, "
          f"{report.bytes:,} bytes, schema {report.schema_version}, {report.seconds} s; "
          f"{files} new attachment file(s) to {backup.blobs_beside(args.path)}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        report, aside = backup.restore(args.path, settings.db_path)
    except backup.BackupError as exc:
        print(f"restore refused: {exc}", file=sys.stderr)
        return 1
    files = backup.copy_files(backup.blobs_beside(args.path), settings.blobs_path)
    print(f"Restored {args.path} into {settings.db_path}: {report.premises} premises, "
          f"schema {report.schema_version}, {files} attachment file(s) put back"
          + (f"; the old database is at {aside}" if aside else ""))
    return 0


# -- parser ---------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", metavar="PATH",
                    help="SQLite database file (default: $WATCHBOOK_DB or var/watchbook.db)")
    parser = argparse.ArgumentParser(
        prog="watchbook", description="Watchbook: offline-first site-specific risk information.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", parents=[db], help="run the web server",
                       description="Run the Watchbook server with uvicorn.")
    p.add_argument("--demo", action="store_true",
                   help="demo mode: use var/demo.db (created with demo data if absent) and "
                        "print the demo sign-ins")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="port (default %(default)s)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo-data", parents=[db], help="fill a new database with demo data",
                       description="Create demo stations, premises and the demo sign-ins "
                                   "(default database: var/demo.db).")
    p.add_argument("--premises", type=int, default=2000, help="how many (default %(default)s)")
    p.add_argument("--stations", type=int, default=12, help="how many (default %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default %(default)s)")
    p.set_defaults(func=cmd_demo_data)

    formats = {"choices": transfer.FORMATS, "help": "file format (default: from the extension)"}
    p = sub.add_parser("import", parents=[db], help="import premises from CSV or GeoJSON",
                       description="Check the whole file, then import it in one transaction. "
                                   "Every bad row is reported as 'line N, field F: problem'.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", **formats)  # type: ignore[arg-type]
    p.add_argument("--skip-invalid", action="store_true",
                   help="import the valid rows and report the ones skipped")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", parents=[db], help="export every live premises",
                       description="Export every live premises as CSV or GeoJSON.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", **formats)  # type: ignore[arg-type]
    p.add_argument("--include-sensitive", action="store_true",
                   help="include key box and entry codes (left out by default)")
    p.set_defaults(func=cmd_export)

    user = sub.add_parser("user", help="manage users", description="Manage users.")
    users = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    p = users.add_parser("add", parents=[db], help="add a user", description="Add a user.")
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--name", required=True, help="full name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--station", help="home station code (needed for crew and supervisors)")
    p.add_argument("--password", help="the password (prompted for if left out; prefer that)")
    p.set_defaults(func=cmd_user_add)
    p = users.add_parser("list", parents=[db], help="list users", description="List users.")
    p.set_defaults(func=cmd_user_list)
    p = users.add_parser("disable", parents=[db], help="disable a user",
                         description="Disable a user: sign-in and sync stop working.")
    p.add_argument("username", metavar="USERNAME")
    p.set_defaults(func=cmd_user_disable)

    device = sub.add_parser("device", help="manage enrolled devices",
                            description="List and revoke enrolled devices.")
    devices = device.add_subparsers(dest="device_command", required=True, metavar="ACTION")
    p = devices.add_parser("list", parents=[db], help="list devices",
                           description="List enrolled devices with their last contact.")
    p.add_argument("--user", help="only this user's devices")
    p.set_defaults(func=cmd_device_list)
    p = devices.add_parser("revoke", parents=[db], help="revoke a lost or retired device",
                           description="Revoke a device: its token stops working at once and, "
                                       "unless --keep-data, it wipes its local data.")
    p.add_argument("device", metavar="DEVICE_ID")
    p.add_argument("--keep-data", action="store_true", help="revoke without the wipe order")
    p.set_defaults(func=cmd_device_revoke)

    p = sub.add_parser("migrate", parents=[db], help="bring the database schema up to date",
                       description="Apply pending schema migrations: to PostgreSQL when "
                                   "WATCHBOOK_DATABASE_URL is set (and no --db), else to "
                                   "the SQLite file.")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("gc", parents=[db], help="remove attachments no record needs",
                       description="Remove attachment files no record references (live, or "
                                   "deleted within the grace period) and older than the grace "
                                   "period, which covers attachments still queued offline.")
    p.add_argument("--grace-days", type=int, metavar="DAYS",
                   help="override $WATCHBOOK_BLOB_GC_GRACE_DAYS")
    p.add_argument("--dry-run", action="store_true", help="report only; remove nothing")
    p.set_defaults(func=cmd_gc)

    p = sub.add_parser("purge-tombstones", parents=[db], help="forget long-deleted premises",
                       description="Remove deleted premises (tombstones) older than the given "
                                   "age. A device that has not synced since then gets a reset "
                                   "and downloads its scope again, so choose an age beyond "
                                   "any device's time offline.")
    p.add_argument("--older-than-days", type=int, default=90, metavar="DAYS",
                   help="keep tombstones younger than this (default 90)")
    p.set_defaults(func=cmd_purge_tombstones)

    p = sub.add_parser("backup", parents=[db], help="copy the live database to PATH",
                       description="Online backup with SQLite's backup API: safe while the "
                                   "server runs and takes writes; the copy is checked.")
    p.add_argument("path", metavar="PATH")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", parents=[db], help="restore a backup (server stopped)",
                       description="Check the backup, keep the current database aside, then "
                                   "restore. Refused while the server has the database open.")
    p.add_argument("path", metavar="PATH")
    p.set_defaults(func=cmd_restore)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.func is not cmd_migrate and not getattr(args, "db", None) \
            and Settings.from_env().database_url:
        print(POSTGRES_SERVER_PENDING, file=sys.stderr)
        return 2
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
