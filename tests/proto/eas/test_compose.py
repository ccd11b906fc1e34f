"""SmartReply and SmartForward's completion of the device's message, bytes in, bytes out."""

from __future__ import annotations

import email
import email.policy

from roost.proto.eas.compose import complete_forward, complete_reply
from roost.proto.mime import parse_message

ORIGINAL = (
    b"From: Bob <bob@example.org>\r\n"
    b"To: Alice <alice@example.org>\r\n"
    b"Subject: =?UTF-8?Q?Caf=C3=A9?=\r\n"
    b"Date: Mon, 7 Feb 2022 21:52:25 -0800\r\n"
    b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
    b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nFirst line\r\nSecond line\r\n"
    b"--B\r\nContent-Type: application/pdf; name=a.pdf\r\n"
    b"Content-Disposition: attachment; filename=a.pdf\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
    b"--B--\r\n"
)
NEW = (
    b"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: Re: Caf\xc3\xa9\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSounds good.\r\n"
)


def parts(data: bytes) -> list[email.message.EmailMessage]:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message.get_content_type() == "multipart/mixed"
    assert message["Subject"] == "Re: Café" and message["To"] == "bob@example.org"
    return list(message.iter_parts())  # type: ignore[attr-defined]


def test_reply_quotes_the_original_text() -> None:
    envelope, root = parse_message(ORIGINAL)
    own, quoted = parts(complete_reply(NEW, ORIGINAL, root, envelope))
    assert own.get_content().strip() == "Sounds good."
    text = quoted.get_content()
    assert text.startswith("On Mon, 7 Feb 2022 21:52:25 -0800, Bob <bob@example.org> wrote:")
    assert "> First line\n> Second line" in text.replace("\r\n", "\n")


def test_forward_carries_the_original_text_and_attachments() -> None:
    envelope, root = parse_message(ORIGINAL)
    own, forwarded, attached = parts(complete_forward(NEW, ORIGINAL, root, envelope))
    assert "Subject: Café" in forwarded.get_content()
    assert "First line" in forwarded.get_content()
    assert attached.get_filename() == "a.pdf"
    assert attached.get_content() == b"%PDF-"


def test_a_device_message_without_content_fields_is_plain_text() -> None:
    envelope, root = parse_message(ORIGINAL)
    bare = (
        b"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: Re: Caf\xc3\xa9\r\n\r\nok\r\n"
    )
    own, _ = parts(complete_reply(bare, ORIGINAL, root, envelope))
    assert own.get_content_type() == "text/plain" and own.get_content().strip() == "ok"
