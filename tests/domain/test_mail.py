"""The mail module against the filesystem and a real SMTP server (plain, STARTTLS with auth, implicit TLS)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.mail import (
    FileMailer,
    Mail,
    MailNotSent,
    SmtpMailer,
    body_text,
    build_message,
    dev_mail_dir,
    find_stored,
    list_stored,
    parse_smtp_url,
)
from tests.support.smtp_sink import SmtpSink

MAIL = Mail(
    to="ada@example.com",
    subject="Confirm your email",
    text="Open http://x/a?token=abc\n",
    link="http://x/a?token=abc",
)
SENDER = "Example Sender <no-reply@example.com>"


@pytest.fixture
def sink(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SmtpSink]:
    server = SmtpSink(getattr(request, "param", "plain"), tmp_path).start()
    yield server
    server.stop()


def test_file_mailer_writes_eml_and_prints_the_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mailer = FileMailer(dev_mail_dir(tmp_path), SENDER)
    asyncio.run(mailer.send(MAIL))
    asyncio.run(mailer.send(Mail(to="b@example.com", subject="Second", text="hi")))
    files = sorted(dev_mail_dir(tmp_path).glob("*.eml"))
    assert len(files) == 2
    stored = list_stored(dev_mail_dir(tmp_path))
    assert [m.subject for m in stored] == ["Second", "Confirm your email"]
    assert stored[1].to == "ada@example.com" and "token=abc" in stored[1].text
    assert find_stored(dev_mail_dir(tmp_path), files[0].name) == stored[1]
    assert find_stored(dev_mail_dir(tmp_path), "../secret.eml") is None
    out = capsys.readouterr().out
    assert "[mail] to ada@example.com: Confirm your email" in out and "http://x/a?token=abc" in out


def test_mail_delivered_out_of_order_keeps_the_order_and_date_it_was_written(tmp_path: Path) -> None:
    # The outbox may deliver a newer mail first (alarms fire in any order, retries come late).
    mailer = FileMailer(dev_mail_dir(tmp_path), SENDER)
    newer = Mail(to="ada@example.com", subject="Newer", text="hi", written_at=1_700_000_060.5)
    older = Mail(to="ada@example.com", subject="Older", text="hi", written_at=1_700_000_000.25)
    asyncio.run(mailer.send(newer, "b" * 32))
    asyncio.run(mailer.send(older, "a" * 32))
    stored = list_stored(dev_mail_dir(tmp_path))
    assert [m.subject for m in stored] == ["Newer", "Older"]
    assert stored[1].date == "Tue, 14 Nov 2023 22:13:20 +0000"


VERIFY = Mail(
    to="ada@example.com",
    subject="Confirm your email address",
    text="Hi <Ada>,\n\nConfirm your email address:\n\nhttp://x/auth/verify?token=abc&n=1\n\n"
    "Questions? See http://x/help.\n",
    link="http://x/auth/verify?token=abc&n=1",
)


def test_message_is_plain_text_with_an_html_alternative() -> None:
    message = build_message(VERIFY, SENDER)
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert body_text(message, "plain") == VERIFY.text


def test_html_part_has_the_same_words_and_the_link_as_a_button() -> None:
    html = body_text(build_message(VERIFY, SENDER), "html")
    # The action is a button labelled with the subject, and the address stays visible beside it.
    button = re.search(r'<a href="([^"]+)" style="display:inline-block[^"]*">([^<]+)</a>', html)
    assert button and button.groups() == (
        "http://x/auth/verify?token=abc&amp;n=1",
        "Confirm your email address",
    )
    assert html.count('href="http://x/auth/verify?token=abc&amp;n=1"') == 2
    # Every other line of the text is there, escaped, with its addresses clickable.
    assert "Hi &lt;Ada&gt;," in html and "<Ada>" not in html
    assert "Confirm your email address:" in html
    assert 'Questions? See <a href="http://x/help" style="color:#4338ca">http://x/help</a>.' in html
    assert f">{SENDER.split(' <')[0]}</td>" in html


def test_stored_mail_keeps_both_parts(tmp_path: Path) -> None:
    asyncio.run(FileMailer(dev_mail_dir(tmp_path), SENDER).send(VERIFY))
    (stored,) = list_stored(dev_mail_dir(tmp_path))
    assert stored.text == VERIFY.text
    assert stored.html.startswith("<!doctype html>") and "token=abc&amp;n=1" in stored.html


@pytest.mark.parametrize(
    ("url", "host", "port", "mode", "user"),
    [
        ("smtp://mail.example.com", "mail.example.com", 25, "opportunistic", None),
        ("smtp://relay:2525?starttls=false", "relay", 2525, "plain", None),
        ("smtp://u:p%40ss@mail.example.com:2525?starttls=true", "mail.example.com", 2525, "starttls", "u"),
        ("smtp+starttls://u:p@mail.example.com", "mail.example.com", 587, "starttls", "u"),
        ("smtps://u:p@mail.example.com", "mail.example.com", 465, "tls", "u"),
    ],
)
def test_parse_smtp_url(url: str, host: str, port: int, mode: str, user: str | None) -> None:
    target = parse_smtp_url(url)
    assert (target.host, target.port, target.mode, target.username) == (host, port, mode, user)


def test_parse_smtp_url_decodes_password_and_rejects_other_schemes() -> None:
    assert parse_smtp_url("smtp://u:p%40ss@h").password == "p@ss"
    with pytest.raises(ValueError, match="SMTP_URL"):
        parse_smtp_url("http://h")


def test_smtp_plain_delivery_when_the_server_offers_no_tls(sink: SmtpSink) -> None:
    mailer = SmtpMailer(parse_smtp_url(sink.url), SENDER)
    asyncio.run(mailer.send(MAIL))
    received = sink.next_message()
    assert received.rcpt_tos == ["ada@example.com"] and received.mail_from == "no-reply@example.com"
    assert received.message["Subject"] == "Confirm your email"
    assert "token=abc" in body_text(received.message, "plain")


@pytest.mark.parametrize("sink", ["starttls", "tls"], indirect=True)
def test_smtp_tls_with_login(sink: SmtpSink) -> None:
    mailer = SmtpMailer(parse_smtp_url(sink.url), SENDER, tls_context=sink.client_context)
    asyncio.run(mailer.send(MAIL))
    assert sink.next_message().message["To"] == "ada@example.com"


@pytest.mark.parametrize("sink", ["starttls"], indirect=True)
def test_plain_smtp_url_upgrades_when_starttls_is_offered(sink: SmtpSink) -> None:
    # The sink requires STARTTLS before AUTH and mail, so delivery proves the upgrade happened.
    url = sink.url.replace("smtp+starttls://", "smtp://")
    mailer = SmtpMailer(parse_smtp_url(url), SENDER, tls_context=sink.client_context)
    asyncio.run(mailer.send(MAIL))
    assert sink.next_message().message["To"] == "ada@example.com"


def test_file_mailer_writes_one_file_per_message_id(tmp_path: Path) -> None:
    mailer = FileMailer(dev_mail_dir(tmp_path), SENDER)
    asyncio.run(mailer.send(MAIL, "0f" * 16))
    asyncio.run(mailer.send(MAIL, "0f" * 16))
    (path,) = dev_mail_dir(tmp_path).glob("*.eml")
    assert path.name.endswith(f"-{'0f' * 16}.eml")
    assert f"<{'0f' * 16}@example.com>" in path.read_text()


def test_smtp_message_id_is_the_outbox_id(sink: SmtpSink) -> None:
    asyncio.run(SmtpMailer(parse_smtp_url(sink.url), SENDER).send(MAIL, "ab" * 16))
    assert sink.next_message().message["Message-ID"] == f"<{'ab' * 16}@example.com>"


def test_smtp_failure_raises_without_the_recipient() -> None:
    mailer = SmtpMailer(parse_smtp_url("smtp://127.0.0.1:1"), SENDER)
    with pytest.raises(MailNotSent) as raised:
        asyncio.run(mailer.send(MAIL))
    assert "ada@example.com" not in str(raised.value) and "Confirm" not in str(raised.value)
