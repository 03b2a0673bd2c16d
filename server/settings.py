"""Settings: every tunable of a Watchbook server, read once from the environment.

Owns names, defaults and parsing (WATCHBOOK_* variables). Must not read files or open databases.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

from sync.record import DEFAULT_REVIEW_INTERVAL_DAYS


def _intervals(text: str) -> dict[int, int]:
    """Parse "1:365,2:730" into {1: 365, 2: 730}."""
    out: dict[int, int] = {}
    for part in text.split(","):
        level, _, days = part.partition(":")
        out[int(level)] = int(days)
    return out


def _database_url(url: str) -> str:
    if url and not url.startswith(("postgresql://", "postgres://")):
        raise ValueError("WATCHBOOK_DATABASE_URL must be a postgresql:// URL "
                         "(leave it unset for SQLite at WATCHBOOK_DB)")
    return url


# Whole-number settings read from WATCHBOOK_<NAME upper-cased>.
INT_SETTINGS = (
    "review_due_soon_days", "argon2_time_cost", "argon2_memory_cost", "argon2_parallelism",
    "signin_max_failures", "signin_window_seconds", "session_max_age_seconds", "max_body_bytes",
    "max_push_mutations", "max_conflicts_per_push", "max_open_conflicts_per_device",
    "max_open_observations",
    "max_concurrent_pushes", "push_queue_seconds", "pull_page_rows",
    "pull_page_bytes", "api_page_max", "read_connections", "gzip_level", "zstd_level",
    "brotli_level", "blob_max_bytes", "attachment_cache_bytes", "blob_gc_grace_days",
    "integrity_check_seconds", "push_body_seconds", "image_max_pixels", "image_decoders",
    "upload_quota_bytes_per_day", "data_stale_hours", "data_old_days",
    "password_workers", "signin_account_max_failures", "signin_address_max_failures",
    "session_idle_seconds", "import_max_bytes", "partner_feed_per_minute",
    "keep_observations_days", "keep_receipts_days", "keep_audit_days",
    "keep_sensitive_views_days", "portal_file_max_bytes", "portal_link_quota_bytes",
    "portal_requests_per_address", "portal_unknown_links_per_address",
    "keep_followed_gone_days",
    "fault_review_days",
)
# Other variables: WATCHBOOK_DB, WATCHBOOK_DATABASE_URL, WATCHBOOK_SECRET_KEY, WATCHBOOK_HTTPS,
# WATCHBOOK_REVIEW_INTERVALS, WATCHBOOK_BLOB_DIR, WATCHBOOK_TRUSTED_PROXIES.
OTHER_VARIABLES = ("WATCHBOOK_DB", "WATCHBOOK_DATABASE_URL", "WATCHBOOK_SECRET_KEY",
                   "WATCHBOOK_HTTPS", "WATCHBOOK_REVIEW_INTERVALS", "WATCHBOOK_BLOB_DIR",
                   "WATCHBOOK_TRUSTED_PROXIES")


@dataclass(frozen=True)
class Settings:
    db_path: Path = Path("var/watchbook.db")
    database_url: str = ""                  # postgresql://…: PostgreSQL instead of db_path
    secret_key: str = ""
    demo: bool = False
    https: bool = False
    review_interval_days: dict[int, int] = field(
        default_factory=lambda: dict(DEFAULT_REVIEW_INTERVAL_DAYS))
    review_due_soon_days: int = 30
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    argon2_parallelism: int = 4
    password_workers: int = 2             # argon2 verifications and hashes run at once
    signin_max_failures: int = 5          # per account and address before delays start
    signin_window_seconds: int = 900      # failures are forgotten after this; the longest delay
    signin_account_max_failures: int = 50  # per account: then only known addresses and devices
    signin_address_max_failures: int = 100  # per address: then only accounts known there
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")  # whose X-Forwarded-For is believed
    session_max_age_seconds: int = 12 * 3600  # a console session ends this long after sign-in
    session_idle_seconds: int = 2 * 3600      # ... or after this long unused
    max_body_bytes: int = 2 * 1024 * 1024
    max_push_mutations: int = 500
    max_conflicts_per_push: int = 100       # conflicts one push may open; beyond: rejected
    max_open_conflicts_per_device: int = 500  # open conflicts one device may have; beyond: rejected
    max_open_observations: int = 200        # open observations one premises may hold; beyond: rejected
    max_concurrent_pushes: int = 32
    push_queue_seconds: int = 5
    push_body_seconds: int = 30             # a push body must arrive whole within this; else 408
    pull_page_rows: int = 1000
    pull_page_bytes: int = 2 * 1024 * 1024
    api_page_max: int = 200
    read_connections: int = 4
    gzip_level: int = 1                     # response codings: docs/performance.md
    zstd_level: int = 1
    brotli_level: int = 1
    blob_dir: Path | None = None            # attachments; default: blobs/ beside the database
    blob_max_bytes: int = 20 * 1024 * 1024  # largest attachment accepted
    import_max_bytes: int = 50 * 1024 * 1024  # largest file a console import accepts
    attachment_cache_bytes: int = 200 * 1024 * 1024  # a device's offline attachment cache
    blob_gc_grace_days: int = 14            # unreferenced blobs younger than this are kept
    # retention, applied by `watchbook housekeeping` (server/housekeeping.py); 0: for ever
    keep_observations_days: int = 90        # reviewed observations then leave their record
    keep_receipts_days: int = 30            # receipts of devices unseen this long; writer rows
    keep_audit_days: int = 0                # history entries
    keep_sensitive_views_days: int = 0      # records of who viewed key box and entry codes
    keep_followed_gone_days: int = 90       # followed records a followed feed said gone
    image_max_pixels: int = 40_000_000      # larger images are refused before decoding
    image_decoders: int = 2                 # images decoded at once (each can take 100s of MB)
    upload_quota_bytes_per_day: int = 500 * 1024 * 1024  # per user per UTC day; 0: none
    integrity_check_seconds: int = 30       # quick_check at start at most this long; 0: off
    data_stale_hours: int = 24              # the app shows its data's age in amber after this
    fault_review_days: int = 14             # an unrepaired equipment fault: for review after
    data_old_days: int = 7                  # ... and in red, as out of date, after this
    partner_feed_per_minute: int = 60       # feed requests per share key per minute; 0: none
    portal_file_max_bytes: int = 20 * 1024 * 1024  # a plan or document sent through the portal
    portal_link_quota_bytes: int = 500 * 1024 * 1024  # files one submission link may send; 0: none
    portal_requests_per_address: int = 600  # portal requests per address per 10 min; 0: none
    portal_unknown_links_per_address: int = 10  # unknown-token answers per address per 10 min

    @property
    def blobs_path(self) -> Path:
        return self.blob_dir or self.db_path.parent / "blobs"

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = dict(os.environ if env is None else env)
        s = cls()
        get = env.get
        values: dict[str, object] = {
            "db_path": Path(get("WATCHBOOK_DB", str(s.db_path))),
            "database_url": _database_url(get("WATCHBOOK_DATABASE_URL", "")),
            "secret_key": get("WATCHBOOK_SECRET_KEY", ""),
            "https": get("WATCHBOOK_HTTPS", "0") == "1",
            "review_interval_days": _intervals(get("WATCHBOOK_REVIEW_INTERVALS", ""))
            if get("WATCHBOOK_REVIEW_INTERVALS") else dict(s.review_interval_days),
            "blob_dir": Path(get("WATCHBOOK_BLOB_DIR", "")) if get("WATCHBOOK_BLOB_DIR") else None,
            "trusted_proxies": tuple(p.strip() for p in get(
                "WATCHBOOK_TRUSTED_PROXIES", ",".join(s.trusted_proxies)).split(",") if p.strip()),
        }
        for name in INT_SETTINGS:
            raw = get("WATCHBOOK_" + name.upper())
            if raw is not None:
                values[name] = int(raw)
        values.update(overrides)
        settings = replace(s, **values)  # type: ignore[arg-type]
        if not settings.secret_key:
            settings = replace(settings, secret_key=secrets.token_urlsafe(32))
        return settings
