"""The codec's only exception."""

from __future__ import annotations


class ProtocolError(Exception):
    """The peer sent bytes that do not parse; the text names what was wrong.

    `tag` is set when the command's tag was read, so the reply can be tagged BAD.
    """

    def __init__(self, text: str, *, tag: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.tag = tag
