"""Account addresses and login checks, over the store interface.

Addresses are stored lower-cased, whole: RFC 5321 lets the local part be case-sensitive, but
no mail system people use today treats "Alice@" and "alice@" as two mailboxes, and matching
them as one avoids a whole class of confusing duplicates.
"""

from __future__ import annotations

import dataclasses
import re

from roost.auth.passwords import (
    DUMMY_HASH,
    VerifiedLogins,
    hash_password,
    needs_rehash,
    off_loop,
    verify_password,
)
from roost.errors import MailError
from roost.store.api import Account, Store

# RFC 5321 §4.5.3.1.1 / §4.5.3.1.2: local part at most 64 octets, domain at most 255; a
# path (with its angle brackets) at most 256, hence 254 for a bare address.
MAX_LOCAL = 64
MAX_DOMAIN = 253
MAX_ADDRESS = 254

# Characters allowed in neither part of an unquoted address (RFC 5322 §3.2.3 "specials",
# plus whitespace and controls). Non-ASCII letters are allowed (RFC 6531, SMTPUTF8).
# Lone surrogates too: the octets of an SMTP path that are not UTF-8, which no store holds.
_FORBIDDEN = re.compile(r'[\s\x00-\x1f\x7f"(),:;<>@\[\\\]\ud800-\udfff]')
# A domain label: letters, digits, hyphens (or non-ASCII, for IDN in U-label form); no
# hyphen at either end (RFC 1035 §2.3.1, RFC 5890).
_LABEL = re.compile(r"[^\W_](?:[\w-]{0,61}[^\W_])?")


# A memo of a pure fact (this password matches this hash), so one for the process.
VERIFIED = VerifiedLogins()


def normalise_domain(domain: str) -> str:
    """The domain lower-cased, without a trailing dot. ValueError if it is not a domain name."""
    name = domain.strip().lower().removesuffix(".")
    if not name or len(name) > MAX_DOMAIN:
        raise ValueError(f"not a domain name: {domain!r}")
    for label in name.split("."):
        if "_" in label or not _LABEL.fullmatch(label):
            raise ValueError(f"not a domain name: {domain!r}")
    return name


def normalise_address(address: str) -> str:
    """`local@domain`, stripped and lower-cased. ValueError if it is not such an address."""
    text = address.strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"not an address of the form local@domain: {address!r}")
    if (
        len(local) > MAX_LOCAL
        or _FORBIDDEN.search(local)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
    ):
        raise ValueError(f"not a valid local part: {address!r}")
    try:
        domain = normalise_domain(domain)
    except ValueError:
        raise ValueError(f"not a valid domain in {address!r}") from None
    normalised = f"{local.lower()}@{domain}"
    if len(normalised) > MAX_ADDRESS:
        raise ValueError(f"address too long: {address!r}")
    return normalised


async def authenticate(store: Store, address: str, password: str) -> Account | None:
    """The account if `password` is right for `address`, else None.

    The Argon2 verification runs on the hashing threads (roost.auth.passwords.off_loop) so
    the event loop keeps serving other connections. An unknown or malformed address is
    verified against a dummy hash, so it costs the same time as a wrong password and does
    not reveal which addresses exist. A login that succeeded within the last hour with the
    same password is recalled instead of verified again (VerifiedLogins).
    A hash made with older parameters is replaced after a successful login.
    """
    try:
        normalised: str | None = normalise_address(address)
    except ValueError:
        normalised = None
    account = await store.find_account(normalised) if normalised else None
    stored_hash = account.password_hash if account is not None else DUMMY_HASH
    matches = VERIFIED.recall(stored_hash, password)
    if not matches:
        matches = await off_loop(verify_password, stored_hash, password)
        if matches:
            VERIFIED.remember(stored_hash, password)
    if account is None or not matches:
        return None
    if not needs_rehash(account.password_hash):
        return account
    new_hash = await off_loop(hash_password, password)
    try:
        await store.set_password(account.address, new_hash)
    except MailError:
        return None  # deleted while we were checking
    return dataclasses.replace(account, password_hash=new_hash)
