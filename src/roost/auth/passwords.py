"""Password hashing with Argon2id (RFC 9106), through argon2-cffi.

Hashes are self-describing PHC strings ("$argon2id$v=19$m=...,t=...,p=...$salt$hash"), so
the parameters can be raised later: `needs_rehash` tells when a stored hash was made with
other parameters, and the caller re-hashes at the next successful login.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

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
