"""ENVELOPE, BODY and BODYSTRUCTURE rendering (RFC 9051 §7.5.2, RFC 3501 §7.4.2).

Delivery renders these once from the part tree of roost.proto.mime and the store keeps
the bytes, so FETCH only copies them. Strings that are not plain 7-bit text go out as
literals: the stored form must suit every client, UTF8=ACCEPT or not.

Type, subtype, parameter and disposition names are rendered upper-case, as in the RFC
examples; parameter values and the other fields are rendered as the message has them.
"""

from __future__ import annotations

from roost.proto.imap.strings import render_nstring, render_string
from roost.proto.mime import Address, Envelope, Params, Part


def _address(a: Address) -> bytes:
    # address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
    fields = (a.name, a.adl, a.mailbox, a.host)
    return b"(" + b" ".join(render_nstring(f) for f in fields) + b")"


def _address_list(addresses: tuple[Address, ...]) -> bytes:
    # env-from etc. = "(" 1*address ")" / nil
    if not addresses:
        return b"NIL"
    return b"(" + b"".join(_address(a) for a in addresses) + b")"


def render_envelope(env: Envelope) -> bytes:
    """The parenthesised ENVELOPE: date, subject, from ... in-reply-to, message-id."""
    lists = (env.from_, env.sender, env.reply_to, env.to, env.cc, env.bcc)
    fields = [
        render_nstring(env.date),
        render_nstring(env.subject),
        *(_address_list(al) for al in lists),
        render_nstring(env.in_reply_to),
        render_nstring(env.message_id),
    ]
    return b"(" + b" ".join(fields) + b")"


def _params(params: Params) -> bytes:
    # body-fld-param = "(" string SP string *(SP string SP string) ")" / nil
    if not params:
        return b"NIL"
    pairs = (render_string(n.upper()) + b" " + render_string(v) for n, v in params)
    return b"(" + b" ".join(pairs) + b")"


def _disposition(part: Part) -> bytes:
    # body-fld-dsp = "(" string SP body-fld-param ")" / nil
    if part.disposition is None:
        return b"NIL"
    kind, params = part.disposition
    return b"(" + render_string(kind.upper()) + b" " + _params(params) + b")"


def _language(part: Part) -> bytes:
    # body-fld-lang = nstring / "(" string *(SP string) ")"
    if not part.language:
        return b"NIL"
    return b"(" + b" ".join(render_string(tag) for tag in part.language) + b")"


def _extension(part: Part) -> list[bytes]:
    """body-fld-dsp SP body-fld-lang SP body-fld-loc: the tail both extension kinds share."""
    return [_disposition(part), _language(part), render_nstring(part.location)]


def _multipart(part: Part, extensible: bool) -> bytes:
    # body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
    # body-ext-mpart  = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
    bodies = b"".join(_body(child, extensible) for child in part.children)
    fields = [bodies, render_string(part.subtype.upper())]
    if extensible:
        fields += [_params(part.params), *_extension(part)]
    return b"(" + b" ".join(fields) + b")"


def _single(part: Part, extensible: bool) -> bytes:
    # body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
    # body-fields     = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP
    #                   body-fld-octets
    fields = [
        render_string(part.type.upper()),
        render_string(part.subtype.upper()),
        _params(part.params),
        render_nstring(part.id),
        render_nstring(part.description),
        render_string(part.encoding),
        b"%d" % part.size,
    ]
    if part.message is not None:
        # body-type-msg = media-message SP body-fields SP envelope SP body SP body-fld-lines
        envelope = part.envelope if part.envelope is not None else Envelope()
        fields += [render_envelope(envelope), _body(part.message, extensible)]
        fields.append(b"%d" % (part.lines or 0))
    elif part.type == "text":
        # body-type-text = media-text SP body-fields SP body-fld-lines
        fields.append(b"%d" % (part.lines or 0))
    if extensible:
        # body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
        fields += [render_nstring(part.md5), *_extension(part)]
    return b"(" + b" ".join(fields) + b")"


def _body(part: Part, extensible: bool) -> bytes:
    return _multipart(part, extensible) if part.is_multipart else _single(part, extensible)


def render_bodystructure(part: Part, extensible: bool) -> bytes:
    """BODYSTRUCTURE (with extension data) when extensible, else BODY, for `part`."""
    return _body(part, extensible)
