"""Log lines an operator can use: one line per event, as text or as JSON lines.

Theory of operation
-------------------
Roost logs through the standard `logging` module. An *event* (a login, a delivery, a
logout...) is one record whose message is the event's name followed by its fields in
logfmt, `key=value` with values quoted when they hold a space or a quote:

    2026-05-01 10:00:00,123 WARNING roost.imap: login failed session=1f2e3d4c protocol=imap
        peer=203.0.113.9 user=bob@example.org mechanism=PLAIN reason="invalid credentials"

(on one line), so `grep`, fail2ban (deploy/fail2ban/) and a human read the same thing. The
record also carries the event and its fields as attributes, so `log_format = "json"` writes
them as keys of one JSON object per line (`JsonFormatter`), for log shippers. Ordinary
records (start-up, errors with tracebacks) come out the same way in either format.

Values are the caller's: never a password, never message content.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = [
    "LOG_FORMATS",
    "JsonFormatter",
    "configure_logging",
    "event",
    "logfmt",
]

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

Value = str | int | float | bool | None

# Attribute names on the LogRecord (prefixed: LogRecord has many attributes of its own).
_EVENT = "roost_event"
_FIELDS = "roost_fields"
# A logfmt value needs quotes when it is empty or holds a space, a quote, '=' or a control.
_NEEDS_QUOTES = re.compile(r'[\s"=\\]|^$|[\x00-\x1f\x7f]')


def logfmt(fields: Mapping[str, Value]) -> str:
    """`key=value key2="a value"`, in the given order; None values are left out."""
    parts = []
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, float):
            text = f"{value:.3f}"
        else:
            text = str(value)
        if _NEEDS_QUOTES.search(text):
            # json.dumps escapes quotes, backslashes and controls; the line stays one line.
            text = json.dumps(text, ensure_ascii=False)
        parts.append(f"{key}={text}")
    return " ".join(parts)


def event(logger: logging.Logger, level: int, name: str, **fields: Value) -> None:
    """Logs one event: `name key=value ...`, with the fields kept for JSON lines."""
    if not logger.isEnabledFor(level):
        return
    line = f"{name} {logfmt(fields)}" if fields else name
    logger.log(level, "%s", line, extra={_EVENT: name, _FIELDS: fields})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (RFC 3339, UTC), level, logger, message, and for an
    event its name and fields as keys of their own; a traceback as "exception"."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC)
        out: dict[str, Any] = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        name = getattr(record, _EVENT, None)
        if name is not None:
            out["event"] = name
            fields: Mapping[str, Value] = getattr(record, _FIELDS, {})
            for key, value in fields.items():
                if value is not None and key not in out:
                    out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure_logging(level: str, log_format: str, stream: TextIO) -> logging.Handler:
    """Sends every record at `level` or above to `stream`, one line each (text or JSON);
    returns the handler, for the caller to remove."""
    handler = logging.StreamHandler(stream)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    return handler
