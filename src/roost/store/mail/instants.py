"""How instants are stored.

Stored as integer unix microseconds (UTC) so that SQL compares integers; INTERNALDATE
also keeps its UTC offset because IMAP returns it as given.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache

__all__ = ["from_micros", "now_utc", "to_micros", "utc_offset"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - _EPOCH) // _MICROSECOND


def from_micros(micros: int, offset_seconds: int = 0) -> datetime:
    return (_EPOCH + timedelta(microseconds=micros)).astimezone(_zone(offset_seconds))


@lru_cache(maxsize=256)
def _zone(offset_seconds: int) -> tzinfo:
    return UTC if offset_seconds == 0 else timezone(timedelta(seconds=offset_seconds))


def utc_offset(when: datetime) -> int:
    offset = when.utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def now_utc() -> datetime:
    # IMAP dates have second granularity; keeping it avoids surprises in SEARCH.
    return datetime.now(UTC).replace(microsecond=0)
