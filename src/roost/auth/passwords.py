"""Password hashing with Argon2id (RFC 9106), through argon2-cffi.

Hashes are self-describing PHC strings ("$argon2id$v=19$m=...,t=...,p=...$salt$hash"), so
the parameters can be raised later: `needs_rehash` tells when a stored hash was made with
other parameters, and the caller re-hashes at the next successful login.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

T = TypeVar("T")

# The argon2-cffi defaults (RFC 9106 "second recommended" profile: t=3, m=64 MiB, p=4).
# The hasher holds only these immutable parameters, so sharing one is a constant, not state.
_HASHER = PasswordHasher()

# A hash of a random password nobody knows, made with the parameters above (a test checks
# that it stays in step with them). Verifying a login for an unknown address against it
# costs the same time as a real verification, so response times do not reveal which
# addresses exist.
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$+V1BDWJ2FA9T1OtueMyLqA"
    "$NZCIyn2n8sGsVd+g48VygCLviO5nCfF46qY+4KA4pPg"
)


# Hashing runs on threads of its own at a lower scheduling priority (a higher nice value),
# so that a storm of logins (every phone reconnecting after a network blip) takes the CPU
# the sessions already logged in leave over, instead of slowing their pushes and fetches.
HASHING_NICENESS = 10
MAX_NICENESS = 19
_HASHING_THREADS = os.cpu_count() or 1


def _lower_priority() -> None:
    # Linux schedules each thread on its own and a thread inherits the nice value of the
    # one that starts it, so this covers the threads libargon2 starts for its lanes too.
    me = threading.get_native_id()
    with contextlib.suppress(OSError):
        nice = os.getpriority(os.PRIO_PROCESS, me) + HASHING_NICENESS
        os.setpriority(os.PRIO_PROCESS, me, min(MAX_NICENESS, nice))


_HASHING = ThreadPoolExecutor(
    max_workers=_HASHING_THREADS, thread_name_prefix="roost-argon2", initializer=_lower_priority
)


async def off_loop(work: Callable[..., T], *args: object) -> T:
    """Runs work(*args), a password function, on the hashing threads."""
    return await asyncio.get_running_loop().run_in_executor(_HASHING, work, *args)


def hash_password(password: str) -> str:
    """A fresh salted Argon2id hash of `password`. Slow on purpose (tens of milliseconds)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True if `password` matches; False for a wrong password or a malformed hash. Never raises
    for either."""
    try:
        return _HASHER.verify(password_hash, password)
    # InvalidHashError is a ValueError; so is the UnicodeError of a non-ASCII hash or a
    # password holding lone surrogates (bytes that were not UTF-8, decoded leniently).
    except (VerificationError, ValueError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True if the hash was made with other parameters than today's (or is not one of ours)."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except ValueError:  # InvalidHashError, or a non-ASCII string
        return True


class VerifiedLogins:
    """A memo of successful verifications: that `password` matched `password_hash` less
    than `ttl` seconds ago. A device that reconnects (phones do, many times an hour) then
    logs in without a second Argon2 run, while a wrong password always pays the full cost.

    Only a keyed digest (HMAC-SHA256 under a random key of this process) of the hash and
    the password is kept, never the password. It proves nothing about a password that was
    not verified, so a hit tells only someone who knows the right password anything. A
    changed password changes the stored hash, so its old entries can never match again.
    Used from one thread (the event loop).
    """

    __slots__ = ("_entries", "_key", "limit", "ttl")

    def __init__(self, *, ttl: float = 3600.0, limit: int = 100_000) -> None:
        self.ttl = ttl
        self.limit = limit
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, float] = OrderedDict()

    def _digest(self, password_hash: str, password: str) -> bytes:
        text = f"{password_hash}\0{password}".encode("utf-8", "surrogatepass")
        return hmac.new(self._key, text, hashlib.sha256).digest()

    def recall(self, password_hash: str, password: str) -> bool:
        digest = self._digest(password_hash, password)
        expires = self._entries.get(digest)
        if expires is None:
            return False
        if expires <= time.monotonic():
            del self._entries[digest]
            return False
        return True

    def remember(self, password_hash: str, password: str) -> None:
        digest = self._digest(password_hash, password)
        self._entries[digest] = time.monotonic() + self.ttl
        self._entries.move_to_end(digest)
        while len(self._entries) > self.limit:
            self._entries.popitem(last=False)  # the oldest
