"""An email's ApplicationData: headers, flags, the body as preferred, attachments."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from roost.proto.eas.email import EmailSource, application_data, body_element, eas_date
from roost.proto.eas.requests import BodyPreference
from roost.proto.eas.wbxml import Element, decode, encode
from roost.proto.mime import parse_message

RAW = (
    b"From: =?UTF-8?Q?Jos=C3=A9?= <jose@example.org>\r\n"
    b"To: Alice <alice@example.org>, bob@example.org\r\n"
    b"Reply-To: replies@example.org\r\n"
    b"Subject: =?UTF-8?Q?Caf=C3=A9?=\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
    b"--B\r\n"
    b"Content-Type: multipart/alternative; boundary=C\r\n\r\n"
    b"--C\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain words\r\n"
    b"--C\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Html words</p>\r\n"
    b"--C--\r\n"
    b"--B\r\n"
    b'Content-Type: image/png; name="dot.png"\r\n'
    b"Content-ID: <dot@x>\r\n"
    b"Content-Disposition: inline\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0K\r\n"
    b"--B--\r\n"
)


def source(raw: bytes = RAW, flags: frozenset[str] = frozenset()) -> EmailSource:
    envelope, root = parse_message(raw)
    return EmailSource(
        data=raw,
        root=root,
        envelope=envelope,
        flags=flags,
        received=datetime(2024, 2, 29, 12, 30, 5, tzinfo=UTC),
        file_reference="7:3",
    )


def fields(elements: tuple[Element, ...]) -> dict[str, Element]:
    return {e.tag: e for e in elements}


def test_headers_flags_and_attachments() -> None:
    data = fields(application_data(source(flags=frozenset({"\\Seen", "\\Flagged"})), ()))
    assert data["From"].value == '"José" <jose@example.org>'
    assert data["To"].value == '"Alice" <alice@example.org>, bob@example.org'
    assert data["ReplyTo"].value == "replies@example.org"
    assert data["Subject"].value == "Café" and data["ThreadTopic"].value == "Café"
    assert data["DisplayTo"].value == "Alice; bob@example.org"
    assert data["DateReceived"].value == "2024-02-29T12:30:05.000Z"
    assert data["Read"].value == "1"
    assert [c.tag for c in data["Flag"].children] == ["Status", "FlagType"]
    assert data["NativeBodyType"].value == "2"
    (attachment,) = data["Attachments"].children
    assert fields(attachment.children)["FileReference"].value == "7:3:2"
    assert fields(attachment.children)["DisplayName"].value == "dot.png"
    assert fields(attachment.children)["ContentId"].value == "dot@x"
    assert fields(attachment.children)["IsInline"].value == "1"
    assert decode(encode(Element("AirSync", "ApplicationData", tuple(data.values()))))


def test_default_body_is_the_whole_plain_text() -> None:
    body = fields(body_element(source(), ()).children)
    assert body["Type"].value == "1" and body["Data"].value == "Plain words"
    assert body["Truncated"].value == "0"


def test_html_preference_gets_the_html_part() -> None:
    body = fields(body_element(source(), (BodyPreference(type=2),)).children)
    assert body["Type"].value == "2" and body["Data"].value == "<p>Html words</p>"


def test_no_reply_to_when_it_is_only_the_from_default() -> None:
    raw = b"From: a@example.org\r\nSubject: s\r\n\r\nbody"
    assert "ReplyTo" not in fields(application_data(source(raw), ()))
    assert fields(application_data(source(raw), ()))["Flag"].children == ()


def test_eas_date_is_utc() -> None:
    from datetime import timedelta, timezone

    moment = datetime(2024, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert eas_date(moment) == "2023-12-31T23:00:00.000Z"


@given(st.text(min_size=1, max_size=60), st.integers(0, 80))
def test_truncation_keeps_whole_characters(text: str, limit: int) -> None:
    body_text = text.replace("\r", "").replace("\x00", "")
    raw = b"Subject: t\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body_text.encode()
    body = fields(
        body_element(source(raw), (BodyPreference(type=1, truncation_size=limit),)).children
    )
    whole = body_text.encode()
    data = str(body["Data"].value).encode()
    assert (whole.startswith(data) and len(data) <= limit) or data == whole
    assert body["Truncated"].value == ("1" if len(whole) > limit else "0")
    assert body["EstimatedDataSize"].value == str(len(whole))
