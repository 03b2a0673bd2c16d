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
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO, TypeVar

from server import (
    backup,
    blobs,
    clock,
    demo,
    fault_review,
    followcli,
    grounds,
    housekeeping,
    passwords,
    servicecli,
    sharecli,
    transfer,
    users,
)
from server.auth import Auth
from server.errors import ApiError
from server.settings import Settings
from server.store import accounts, engines, events, records
from server.store import housekeeping as housekeeping_sql
from server.store import stations as stations_store
from server.store import sync as sync_store
from server.store.database import Database
from server.store.migrations import migrate, schema_version
from sync.roles import ROLES

T = TypeVar("T")
DEMO_DB = Path("var/demo.db")


def _settings(args: argparse.Namespace, demo_mode: bool = False) -> Settings:
    if args.db:
        return Settings.from_env(db_path=Path(args.db), demo=demo_mode, database_url="")
    if demo_mode:  # never fill the configured (real) database with demo data by accident
        return Settings.from_env(db_path=DEMO_DB, demo=True)
    return Settings.from_env()


WORKERS_NEED_POSTGRES = (
    "--workers above 1 needs PostgreSQL (set WATCHBOOK_DATABASE_URL=postgresql://…): on SQLite "
    "one process owns the database file and its one writer; run one process (docs/deployment.md)")
BACKUP_ON_POSTGRES = (
    "WATCHBOOK_DATABASE_URL is set: back up and restore PostgreSQL with pg_dump / pg_restore or "
    "point-in-time recovery (docs/deployment.md, PostgreSQL); `watchbook backup` and `restore` "
    "copy a SQLite file (pass --db PATH for one)")


def _where(settings: Settings) -> str:
    """The database in words: its file, or PostgreSQL."""
    return "the PostgreSQL database" if settings.database_url else str(settings.db_path)


def _run(settings: Settings, job: Callable[[Database], Awaitable[T]],
         migrate_first: bool = True) -> T:
    async def go() -> T:
        db = await engines.open_database(settings.db_path, settings.database_url, 1,
                                         migrate=migrate_first)
        try:
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
    if args.workers > 1:
        if not settings.database_url:
            print(WORKERS_NEED_POSTGRES, file=sys.stderr)
            return 2
        # each worker process builds its own app from the same environment
        uvicorn.run("server.app:create_app", factory=True, workers=args.workers,
                    host=args.host, port=args.port, access_log=False, proxy_headers=False)
        return 0
    if args.demo:
        if not settings.db_path.exists():
            print(f"Creating the demo database {settings.db_path} (2,000 premises, 12 stations)")
            _run(settings, lambda db: demo.load_demo(db, settings))
        _print_demo_sign_ins()
        print(f"Watchbook demo: http://{args.host}:{args.port}/")
    # Our JSON request log replaces uvicorn's (no query strings); X-Forwarded-For is read by
    # the app itself from WATCHBOOK_TRUSTED_PROXIES only (server/web/addresses.py).
    uvicorn.run(create_app(settings), host=args.host, port=args.port, access_log=False,
                proxy_headers=False)
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    settings = _settings(args, demo_mode=True)

    async def job(db: Database) -> int:
        count = await db.read(records.count)
        if count:
            print(f"{_where(settings)} already holds {count} premises; demo data goes into a "
                  "new database (use --db)", file=sys.stderr)
            return 1
        made = await demo.load_demo(db, settings, premises=args.premises,
                                    stations=args.stations, seed=args.seed)
        print(f"Created {args.premises} premises over {args.stations} stations in "
              f"{_where(settings)}")
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
        async def job(db: Database) -> transfer.ImportResult:
            return await transfer.import_file(db, settings, args.file, fmt, args.skip_invalid,
                                              bar, service=await servicecli.service_id(db, args))
        result = _run(settings, job)
    except ApiError as exc:
        print(exc.message, file=sys.stderr)
        return 1
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
          + (f", skipped {transfer.rows_with_problems(result.skipped)} invalid row(s)"
             if result.skipped else ""))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        fmt = transfer.format_for(args.file, args.format)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    async def job(db: Database) -> int:
        service = await servicecli.service_id(db, args)
        n = await transfer.export_file(db, args.file, fmt, args.include_sensitive,
                                       service=service)
        for code in await db.read(lambda c: stations_store.codes(c, service)):
            await events.add(db, clock.now("seconds"), "export", None, station=code, detail=(
                f"{n} premises of the service to {args.file} ({fmt}, command)"
                + (", sensitive fields included" if args.include_sensitive else "")))
        return int(n)
    try:
        count = _run(settings, job)
    except ApiError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(f"Exported {count} premises to {args.file}"
          + ("" if args.include_sensitive else
             " (sensitive fields left out; --include-sensitive to keep them)"))
    return 0


def _new_password(args: argparse.Namespace) -> str | None:
    """The password given with --password or typed twice; None (said why) if unacceptable."""
    password = args.password
    if password is None:
        password = getpass.getpass(f"Password for {args.username}: ")
        if getpass.getpass("Again: ") != password:
            print("the passwords do not match", file=sys.stderr)
            return None
    problem = passwords.problem(password, args.username)
    if problem:
        print(problem, file=sys.stderr)
        return None
    return str(password)


def cmd_user_add(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.role != "admin" and not args.station:
        print(f"a {args.role} needs --station", file=sys.stderr)
        return 2
    password = _new_password(args)
    if password is None:
        return 1
    extra = grounds.parse_codes(args.grounds or "")

    async def job(db: Database) -> None:
        service = await servicecli.service_id(db, args)
        await db.read(lambda c: grounds.check_codes(c, extra, "grounds", service))  # first
        if args.station:
            await db.read(lambda c: grounds.check_not_retired(c, args.station, "station",
                                                              service))
        user_id = await Auth(db, settings).add_user(args.username, args.name, args.role,
                                                    args.station, password, service=service)
        if extra:
            await users.edit(db, user_id, extra=extra)
    try:
        _run(settings, job)
    except ApiError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(f"Added {args.role} {args.username}"
          + (f", also covering {args.grounds}" if args.grounds else ""))
    return 0


def cmd_user_reset_password(args: argparse.Namespace) -> int:
    settings = _settings(args)
    password = _new_password(args)
    if password is None:
        return 1
    try:
        _run(settings, lambda db: Auth(db, settings).reset_password(args.username, password))
    except ApiError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(f"Reset the password of {args.username}: they must choose a new one at their next "
          "sign-in; their console sessions have ended")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    async def job(db: Database) -> list[dict[str, Any]]:
        return await accounts.list_users(db, await servicecli.service_id(db, args))
    try:
        rows = sorted(_run(settings, job), key=lambda r: r["username"])
    except ApiError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(f"{'USERNAME':<20} {'NAME':<28} {'ROLE':<11} {'STATION':<8} {'ALSO COVERS':<16} "
          "STATUS")
    for r in rows:
        print(f"{r['username']:<20} {r['name']:<28} {r['role']:<11} {r['station'] or '-':<8} "
              f"{','.join(r['extra_grounds']) or '-':<16} "
              f"{'disabled' if r['disabled'] else 'active'}")
    return 0


def cmd_device_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    async def job(db: Database) -> list[dict[str, Any]]:
        return await accounts.list_devices(db, await servicecli.service_id(db, args),
                                           username=args.user)
    try:
        rows = sorted(_run(settings, job), key=lambda r: (r["username"], r["created_at"]))
    except ApiError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(f"{'DEVICE':<18} {'USER':<16} {'LAST SEEN':<21} {'STATUS':<9} NAME")
    for r in rows:
        print(f"{r['id']:<18} {r['username']:<16} {r['last_seen'] or '-':<21} "
              f"{_device_status(r):<9} {r['name']}")
    return 0


def _device_status(row: dict[str, Any]) -> str:
    if row["revoked_at"]:
        return "revoked"
    return "retiring" if row["wipe"] == accounts.RETIRE_ORDERED else "active"


def cmd_device_revoke(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def job(db: Database) -> bool:
        known = await accounts.device_row(db, args.device)
        if known and args.retire:
            return await Auth(db, settings).retire_device(args.device, by="the watchbook command")
        if known:
            await Auth(db, settings).revoke_device(args.device, wipe=not args.keep_data,
                                                   by="the watchbook command")
        return known is not None
    if args.retire and args.keep_data:
        print("--retire and --keep-data do not go together: a retired device always clears "
              "itself once it has sent what it holds", file=sys.stderr)
        return 2
    if not _run(settings, job):
        print(f"no live device {args.device}" if args.retire else f"no device {args.device}",
              file=sys.stderr)
        return 1
    if args.retire:
        print(f"Retiring {args.device}: at its next sync it sends what it holds, then signs out "
              "and clears itself")
        return 0
    print(f"Revoked {args.device}" + ("" if args.keep_data else
                                      "; it will wipe its local data when it next connects"))
    return 0


def _user_job(settings: Settings, username: str,
              job: Callable[[Database, int], Awaitable[T]]) -> T | None:
    """Run `job(db, user id)` for a user named on the command line; None (reported) on an
    ApiError such as an unknown user or a bad value."""
    async def go(db: Database) -> T:
        return await job(db, (await users.find(db, username))["id"])
    try:
        return _run(settings, go)
    except ApiError as exc:
        print(f"{exc.field + ': ' if exc.field else ''}{exc.message}", file=sys.stderr)
        return None


def cmd_user_disable(args: argparse.Namespace) -> int:
    revoked = _user_job(_settings(args), args.username, users.disable)
    if revoked is None:
        return 1
    print(f"Disabled {args.username}; "
          + (f"their {revoked} device(s) will wipe their local data at their next contact"
             if revoked else "they have no live devices"))
    return 0


def cmd_user_enable(args: argparse.Namespace) -> int:
    async def enable(db: Database, user_id: int) -> bool:
        await users.enable(db, user_id)
        return True
    if _user_job(_settings(args), args.username, enable) is None:
        return 1
    print(f"Enabled {args.username}; they enrol their devices again by signing in to the app")
    return 0


def cmd_user_edit(args: argparse.Namespace) -> int:
    if all(v is None for v in (args.name, args.role, args.station, args.grounds)):
        print("nothing to change: give --name, --role, --station or --grounds",
              file=sys.stderr)
        return 2
    profile = _user_job(_settings(args), args.username, lambda db, uid: users.edit(
        db, uid, name=args.name, role=args.role, station=args.station,
        extra=None if args.grounds is None else grounds.parse_codes(args.grounds)))
    if profile is None:
        return 1
    print(f"{args.username}: {profile['role']}"
          + (f" at {profile['station']}" if profile["station"] else "")
          + (f", also covering {', '.join(profile['extra'])}" if profile["extra"] else "")
          + "; their devices get it at their next sync")
    return 0


# -- stations -------------------------------------------------------------------------------
def _station_job(settings: Settings, job: Callable[[Database], Awaitable[T]]) -> T | None:
    try:
        return _run(settings, job)
    except ApiError as exc:
        print(f"{exc.field + ': ' if exc.field else ''}{exc.message}", file=sys.stderr)
        return None


def cmd_station_add(args: argparse.Namespace) -> int:
    async def job(db: Database) -> str:
        return await grounds.add(db, args.code, args.name, args.lat, args.lon,
                                 grounds.parse_codes(args.grounds or ""),
                                 service=await servicecli.service_id(db, args))
    code = _station_job(_settings(args), job)
    if code is None:
        return 1
    print(f"Added station {code} {args.name}")
    return 0


def cmd_station_list(args: argparse.Namespace) -> int:
    async def job(db: Database) -> list[dict[str, Any]]:
        return await stations_store.overview(db, await servicecli.service_id(db, args))
    rows = _station_job(_settings(args), job)
    if rows is None:
        return 1
    print(f"{'CODE':<8} {'NAME':<24} {'POSITION':<20} {'ALSO COVERS':<20} {'PREMISES':>8} "
          f"{'USERS':>5} STATUS")
    for s in rows:
        where = "-" if s["lat"] is None else f"{s['lat']:.4f},{s['lon']:.4f}"
        print(f"{s['code']:<8} {s['name'][:24]:<24} {where:<20} "
              f"{','.join(s['extra_grounds']) or '-':<20} {s['premises']:>8} {s['users']:>5} "
              + (f"retired {s['retired_at']}" if s["retired_at"] else "in service"))
    return 0


def cmd_station_edit(args: argparse.Namespace) -> int:
    if all(v is None for v in (args.name, args.lat, args.lon, args.grounds)):
        print("nothing to change: give --name, --lat/--lon or --grounds", file=sys.stderr)
        return 2
    done = _station_job(_settings(args), lambda db: grounds.edit(
        db, args.code.upper(), name=args.name, lat=args.lat, lon=args.lon,
        extra=None if args.grounds is None else grounds.parse_codes(args.grounds)))
    if done is None:
        return 1
    print(f"Changed station {done['code']}"
          + (f", also covering {', '.join(done['extra_grounds'])}"
             if done["extra_grounds"] else "")
          + "; devices of its grounds get the change at their next sync")
    return 0


def cmd_station_retire(args: argparse.Namespace) -> int:
    settings = _settings(args)
    moved = _station_job(settings, lambda db: grounds.retire(
        db, args.code.upper(), args.move_to, f"cli:{getpass.getuser()}",
        dict(settings.review_interval_days)))
    if moved is None:
        return 1
    print(f"Retired station {args.code.upper()}"
          + (f"; moved its {moved} premises to {args.move_to.upper()}" if moved else ""))
    return 0


# -- first run ------------------------------------------------------------------------------
PASSWORD_ENV = "WATCHBOOK_ADMIN_PASSWORD"


def _init_password(args: argparse.Namespace) -> str | None:
    """The first admin's password: from --password-file, $WATCHBOOK_ADMIN_PASSWORD, or asked
    twice; None (reported) when it cannot be had."""
    if args.password_file:
        try:
            lines = Path(args.password_file).read_text(encoding="utf-8").splitlines()
            return lines[0] if lines else ""
        except OSError as exc:
            print(f"cannot read --password-file: {exc.strerror}", file=sys.stderr)
            return None
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    password = getpass.getpass(f"Password for {args.username}: ")
    if getpass.getpass("Again: ") != password:
        print("the passwords do not match", file=sys.stderr)
        return None
    return password


def cmd_init(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def has_users(db: Database) -> int:
        return await db.read(accounts.user_count)
    if (settings.database_url or settings.db_path.exists()) and _run(settings, has_users):
        print(f"{_where(settings)} already has users: init sets up a new service only once. "
              "Add users with `watchbook user add` or in the console.", file=sys.stderr)
        return 1
    password = _init_password(args)
    if password is None:
        return 1
    if not password:
        print("the password must not be empty", file=sys.stderr)
        return 1

    async def job(db: Database) -> None:
        await engines.ensure_epoch(db)
        if await db.read(accounts.user_count):  # another init got there first
            raise ApiError(409, "invalid", "the database already has users", "username")
        await Auth(db, settings).add_user(args.username, args.name, "admin", None, password,
                                          service=1)  # the first owning service (migration 13)
    try:
        _run(settings, job)
    except ApiError as exc:
        print(f"cannot create the admin: {exc.message}", file=sys.stderr)
        return 1
    print(f"Created {_where(settings)} with the admin {args.username}. Next: add stations "
          "(`watchbook station add`), users (`watchbook user add`) and premises "
          "(`watchbook import`), or sign in to /console/ and follow its checklist.")
    return 0


def cmd_migrate_to_postgres(args: argparse.Namespace) -> int:
    """Copy a SQLite service into the (empty) PostgreSQL database of WATCHBOOK_DATABASE_URL."""
    import sqlite3

    from server.store.postgres import migrations as pg_migrations
    from server.store.postgres import transfer as pg_transfer
    from server.store.postgres.database import PgDatabase

    url = Settings.from_env().database_url
    source = Path(args.source)
    if not url:
        print("set WATCHBOOK_DATABASE_URL=postgresql://… to the database to move into",
              file=sys.stderr)
        return 2
    if not source.exists():
        print(f"--from: no SQLite database at {source}", file=sys.stderr)
        return 2
    _run(Settings.from_env(db_path=source, database_url=""), lambda db: asyncio.sleep(0))

    async def go() -> dict[str, int] | None:
        pg = await PgDatabase(url, 1).open()
        try:
            await pg_migrations.migrate(pg)

            def copy(conn: Any) -> dict[str, int] | None:  # on the worker thread
                if not pg_transfer.is_empty(conn):
                    return None
                src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
                try:
                    src.execute("BEGIN")  # one snapshot of the whole file
                    return pg_transfer.copy_all(src, conn)
                finally:
                    src.close()
            return await asyncio.to_thread(pg.write_now, copy)
        finally:
            await pg.close()
    copied = asyncio.run(go())
    if copied is None:
        print("the PostgreSQL database already holds users or premises: move into an empty "
              "one", file=sys.stderr)
        return 1
    print(f"Copied {source} into PostgreSQL: " + ", ".join(
        f"{n} {table}" for table, n in copied.items() if n) +
        ". Devices keep their cursors and outboxes; start the server with "
        "WATCHBOOK_DATABASE_URL set.")
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
    store = blobs.BlobStore.local(settings.blobs_path)
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


def cmd_housekeeping(args: argparse.Namespace) -> int:
    settings = _settings(args)
    keep = housekeeping.Retention(
        observations=settings.keep_observations_days, receipts=settings.keep_receipts_days,
        audit=settings.keep_audit_days, sensitive_views=settings.keep_sensitive_views_days,
        followed_gone=settings.keep_followed_gone_days)

    async def job(db: Database) -> dict[str, int]:
        removed = await housekeeping.run(db, sync_store.SqliteStore(db), housekeeping_sql,
                                         keep, clock.now())
        if args.vacuum:
            await housekeeping_sql.vacuum(db)
        # equipment faults with no repair reported in time: "for review" on their records
        flagged["records"] = await fault_review.flag_due(db, settings.fault_review_days)
        return removed
    flagged = {"records": 0}
    removed = _run(settings, job)
    print("Housekeeping removed " + ", ".join(f"{n:,} {what}" for what, n in removed.items())
          + (" and gave the space back" if args.vacuum else "")
          + (f"; {flagged['records']:,} records with faults now for review"
             if flagged["records"] else ""))
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
    svc = servicecli.option()
    parser = argparse.ArgumentParser(
        prog="watchbook", description="Watchbook: offline-first site-specific risk information.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", parents=[db], help="set up a new service: database and admin",
                       description="Create the database and the first admin, nothing else. "
                                   "The password is asked for, or read from --password-file "
                                   f"or ${PASSWORD_ENV}. Refused over a database with users.")
    p.add_argument("--username", required=True, help="the first admin's username")
    p.add_argument("--name", required=True, help="the first admin's full name")
    p.add_argument("--password-file", metavar="PATH",
                   help="read the password from this file (its first line)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("serve", parents=[db], help="run the web server",
                       description="Run the Watchbook server with uvicorn.")
    p.add_argument("--demo", action="store_true",
                   help="demo mode: use var/demo.db (created with demo data if absent) and "
                        "print the demo sign-ins")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="port (default %(default)s)")
    p.add_argument("--workers", type=int, default=1,
                   help="server processes (default %(default)s); more than 1 needs PostgreSQL "
                        "(WATCHBOOK_DATABASE_URL)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo-data", parents=[db], help="fill a new database with demo data",
                       description="Create demo stations, premises and the demo sign-ins "
                                   "(default database: var/demo.db).")
    p.add_argument("--premises", type=int, default=2000, help="how many (default %(default)s)")
    p.add_argument("--stations", type=int, default=12, help="how many (default %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default %(default)s)")
    p.set_defaults(func=cmd_demo_data)

    formats = {"choices": transfer.FORMATS, "help": "file format (default: from the extension)"}
    p = sub.add_parser("import", parents=[db, svc], help="import premises from CSV or GeoJSON",
                       description="Check the whole file, then import it in one transaction. "
                                   "Every bad row is reported as 'line N, field F: problem'.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", **formats)  # type: ignore[arg-type]
    p.add_argument("--skip-invalid", action="store_true",
                   help="import the valid rows and report the ones skipped")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", parents=[db, svc], help="export every live premises",
                       description="Export every live premises of the service as CSV or "
                                   "GeoJSON.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", **formats)  # type: ignore[arg-type]
    p.add_argument("--include-sensitive", action="store_true",
                   help="include key box and entry codes (left out by default)")
    p.set_defaults(func=cmd_export)

    user = sub.add_parser("user", help="manage users", description="Manage users.")
    users = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    p = users.add_parser("add", parents=[db, svc], help="add a user", description="Add a user.")
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--name", required=True, help="full name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--station", help="home station code (needed for crew and supervisors)")
    p.add_argument("--grounds", metavar="CODES",
                   help="extra stations covered beyond the home station's, comma-separated")
    p.add_argument("--password", help="the password (prompted for if left out; prefer that)")
    p.set_defaults(func=cmd_user_add)
    p = users.add_parser("list", parents=[db, svc], help="list users", description="List users.")
    p.set_defaults(func=cmd_user_list)
    p = users.add_parser("disable", parents=[db], help="disable a user",
                         description="Disable a user: sign-in and sync stop working, and "
                                     "each of their devices wipes its local data (key codes "
                                     "included) at its next contact.")
    p.add_argument("username", metavar="USERNAME")
    p.set_defaults(func=cmd_user_disable)
    p = users.add_parser("reset-password", parents=[db], help="reset a user's password",
                         description="Set a new password that its owner must change at their "
                                     "next sign-in; ends their console sessions.")
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--password", help="the new password (prompted for if left out; prefer "
                                      "that)")
    p.set_defaults(func=cmd_user_reset_password)
    p = users.add_parser("enable", parents=[db], help="enable a disabled user",
                         description="Let a disabled user sign in again; they enrol their "
                                     "devices again by signing in to the app.")
    p.add_argument("username", metavar="USERNAME")
    p.set_defaults(func=cmd_user_enable)
    p = users.add_parser("edit", parents=[db], help="change a user's role or grounds",
                         description="Change a user's name, role, home station or extra "
                                     "grounds; their devices get it at their next sync.")
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--name", help="full name")
    p.add_argument("--role", choices=ROLES)
    p.add_argument("--station", help="home station code ('' for none: admins only)")
    p.add_argument("--grounds", metavar="CODES",
                   help="extra stations covered, comma-separated ('' for none)")
    p.set_defaults(func=cmd_user_edit)

    station = sub.add_parser("station", help="manage stations and their grounds",
                             description="Add, list, edit and retire stations.")
    stations = station.add_subparsers(dest="station_command", required=True, metavar="ACTION")
    p = stations.add_parser("add", parents=[db, svc], help="add a station",
                            description="Add a station. Its grounds are its own premises "
                                        "plus the extra grounds it covers.")
    p.add_argument("code", metavar="CODE", help="1-16 letters or digits, such as WIS")
    p.add_argument("--name", required=True, help="the station's name")
    p.add_argument("--lat", type=float, help="latitude (with --lon)")
    p.add_argument("--lon", type=float, help="longitude (with --lat)")
    p.add_argument("--grounds", metavar="CODES",
                   help="other stations it also covers, comma-separated")
    p.set_defaults(func=cmd_station_add)
    p = stations.add_parser("list", parents=[db, svc], help="list stations",
                            description="List stations with their grounds, premises and users.")
    p.set_defaults(func=cmd_station_list)
    p = stations.add_parser("edit", parents=[db], help="change a station",
                            description="Change a station's name, position or extra grounds; "
                                        "devices get the new grounds at their next sync.")
    p.add_argument("code", metavar="CODE")
    p.add_argument("--name", help="the station's name")
    p.add_argument("--lat", type=float, help="latitude (with --lon)")
    p.add_argument("--lon", type=float, help="longitude (with --lat)")
    p.add_argument("--grounds", metavar="CODES",
                   help="other stations it also covers, comma-separated ('' for none)")
    p.set_defaults(func=cmd_station_edit)
    p = stations.add_parser("retire", parents=[db], help="retire a station",
                            description="Retire a station (stations are never deleted): its "
                                        "premises move to --move-to, and it leaves every "
                                        "extra-grounds list. Refused while users are based "
                                        "there.")
    p.add_argument("code", metavar="CODE")
    p.add_argument("--move-to", metavar="CODE", help="the station its premises move to")
    p.set_defaults(func=cmd_station_retire)

    device = sub.add_parser("device", help="manage enrolled devices",
                            description="List and revoke enrolled devices.")
    devices = device.add_subparsers(dest="device_command", required=True, metavar="ACTION")
    p = devices.add_parser("list", parents=[db, svc], help="list devices",
                           description="List enrolled devices with their last contact.")
    p.add_argument("--user", help="only this user's devices")
    p.set_defaults(func=cmd_device_list)
    p = devices.add_parser("revoke", parents=[db], help="revoke a lost or retired device",
                           description="Revoke a lost device: its token stops working at once "
                                       "and, unless --keep-data, it wipes its local data. With "
                                       "--retire, the device first sends what it holds, then "
                                       "signs out and clears itself (shift handover).")
    p.add_argument("device", metavar="DEVICE_ID")
    p.add_argument("--retire", action="store_true",
                   help="retire instead: it sends its unsent changes, then clears itself")
    p.add_argument("--keep-data", action="store_true", help="revoke without the wipe order")
    p.set_defaults(func=cmd_device_revoke)

    sharecli.add_parsers(sub, db, _settings, _run)  # partner, share
    followcli.add_parsers(sub, db, _settings, _run)  # follow
    servicecli.add_parsers(sub, db, _settings, _run)  # service

    p = sub.add_parser("migrate", parents=[db], help="bring the database schema up to date",
                       description="Apply pending schema migrations: to PostgreSQL when "
                                   "WATCHBOOK_DATABASE_URL is set (and no --db), else to "
                                   "the SQLite file.")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("migrate-to-postgres", help="move a SQLite service into PostgreSQL",
                       description="Copy every row of a SQLite database (stop its server "
                                   "first) into the empty PostgreSQL database of "
                                   "WATCHBOOK_DATABASE_URL: receipts, cursors and the sync "
                                   "epoch kept, so devices lose neither outbox nor download.")
    p.add_argument("--from", dest="source", required=True, metavar="PATH",
                   help="the SQLite database file")
    p.set_defaults(func=cmd_migrate_to_postgres)

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

    p = sub.add_parser(
        "housekeeping", parents=[db], help="forget bookkeeping no one needs any more",
        description="Reviewed observations leave their record after "
                    "WATCHBOOK_KEEP_OBSERVATIONS_DAYS (kept in the history); receipts every "
                    "device holds, and those of devices revoked or unseen for "
                    "WATCHBOOK_KEEP_RECEIPTS_DAYS, are forgotten, as are last-writer rows that "
                    "old; history entries and views of sensitive fields after "
                    "WATCHBOOK_KEEP_AUDIT_DAYS and WATCHBOOK_KEEP_SENSITIVE_VIEWS_DAYS (0: for "
                    "ever). Safe while the server runs; run it daily.")
    p.add_argument("--vacuum", action="store_true",
                   help="then give the freed space back to the file system (VACUUM: holds "
                        "writes while it runs)")
    p.set_defaults(func=cmd_housekeeping)

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
    if args.func in (cmd_backup, cmd_restore) and not getattr(args, "db", None) \
            and Settings.from_env().database_url:
        print(BACKUP_ON_POSTGRES, file=sys.stderr)
        return 2
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
