"""Passwords: the one policy every way of setting one follows (console, app, command line),
and argon2id hashing run off the event loop in a bounded pool of threads.

`problem` is pure: it says what is wrong with a new password, or None. `Passwords` hashes and
verifies; its async forms queue on at most `password_workers` threads, so a flood of sign-ins
waits its turn instead of starving other requests. Must not store anything nor hash device
tokens (long random secrets need no slow hash: server/auth.py hashes them with SHA-256).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.settings import Settings

MIN_LENGTH = 8
MAX_LENGTH = 256
# The passwords tried first by anyone guessing (the head of the public breach lists), and the
# words of this product and trade; compared lower-cased.
COMMON = frozenset("""
password password1 password12 password123 passw0rd p@ssw0rd p@ssword 12345678 123456789
1234567890 0123456789 87654321 11111111 00000000 12341234 11223344 qwertyui qwertyuiop
qwerty12 qwerty123 1q2w3e4r 1qaz2wsx zaq12wsx asdfghjk asdfasdf abcd1234 abc12345 abcdefgh
iloveyou sunshine princess football baseball welcome1 welcome123 letmein1 trustno1 superman
batman123 monkey12 dragon12 master12 shadow12 michael1 charlie1 changeme changeit admin123
administrator firefighter fireman1 firestation station1 watchbook watchbook1 supervisor
crewcrew 999999999 88888888 77777777 55555555 12121212 qazwsxedc
""".split())


def problem(password: str, username: str = "") -> str | None:
    """What makes `password` unacceptable as a new password, in a sentence; None if nothing."""
    if len(password) < MIN_LENGTH:
        return f"Use a password of at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use a password of at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if lowered in COMMON or len(set(lowered)) == 1:
        return "That password is one of the first that anyone guessing would try; choose another."
    if username and lowered == username.lower():
        return "The password must not be the username."
    return None


class Passwords:
    """argon2id hashing with parameters from settings; rehash when they change."""

    def __init__(self, settings: Settings):
        self.hasher = PasswordHasher(time_cost=settings.argon2_time_cost,
                                     memory_cost=settings.argon2_memory_cost,
                                     parallelism=settings.argon2_parallelism)
        self._pool = ThreadPoolExecutor(max(1, settings.password_workers),
                                        thread_name_prefix="argon2")

    def hash(self, secret: str) -> str:
        return self.hasher.hash(secret)

    def verify(self, stored: str, secret: str) -> bool:
        try:
            return self.hasher.verify(stored, secret)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)

    async def hash_async(self, secret: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.hash, secret)

    async def verify_async(self, stored: str, secret: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self.verify, stored, secret)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
