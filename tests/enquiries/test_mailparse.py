"""mailparse: raw bytes to ParsedMail, or Unparseable with the reason (pure: no database)."""

import pytest

from salesline.enquiries.mailparse import Unparseable, html_to_text, parse


def test_a_plain_message():
    parsed = parse(
        b'From: "Baker, Jo" <Jo@Bakery.test>\r\nSubject: Hello\r\n'
        b"Message-ID: <abc@bakery.test>\r\n\r\nA shop, please.\r\n"
    )
    assert (parsed.from_name, parsed.from_address) == ("Baker, Jo", "jo@bakery.test")
    assert (parsed.subject, parsed.text, parsed.message_id) == (
        "Hello",
        "A shop, please.",
        "abc@bakery.test",
    )
    assert parsed.attachments == ()


def test_the_plain_part_wins_over_html():
    raw = (
        b"From: a@b.test\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nplain words\r\n"
        b"--b\r\nContent-Type: text/html\r\n\r\n<p>html words</p>\r\n--b--\r\n"
    )
    assert parse(raw).text == "plain words"


def test_html_to_text_keeps_blocks_and_drops_scripts():
    html = "<h1>Title</h1><p>One &amp; two</p><script>alert(1)</script><ul><li>a</li></ul>"
    assert html_to_text(html) == "Title\n\nOne & two\n\n- a"


def test_attachment_names_never_carry_a_path():
    raw = (
        b"From: a@b.test\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b"--b\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="../../etc/passwd"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b--\r\n"
    )
    (attachment,) = parse(raw).attachments
    assert (attachment.file_name, attachment.content) == ("passwd", b"hello")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "The message is empty."),
        (b"Subject: hi\r\n\r\nbody\r\n", "The message has no From address."),
        (b"From: nobody\r\nSubject: hi\r\n\r\nbody\r\n", "The From header has no e-mail address"),
        (b"From: a@b.test\r\n\r\n\r\n", "The message has no text, no subject and no attachments."),
        (
            b"From: a@b.test\r\nSubject: =?x-unknown?q?abc?=\r\n\r\nbody\r\n",
            "A header cannot be decoded",
        ),
    ],
)
def test_what_cannot_be_parsed_says_why(raw, reason):
    with pytest.raises(Unparseable) as refused:
        parse(raw)
    assert refused.value.reason.startswith(reason)


def test_an_unknown_body_charset_falls_back_to_the_usual_ones():
    raw = (
        b"From: a@b.test\r\nSubject: s\r\n"
        b'Content-Type: text/plain; charset="x-made-up"\r\n\r\ncaf\xe9\r\n'
    )
    assert parse(raw).text == "café"
