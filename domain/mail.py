"""Outgoing mail: `.eml` files + console in development, SMTP (smtp://, smtps://, starttls) in production."""

from __future__ import annotations

import asyncio
import logging
import re
import smtplib
import ssl
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid, parseaddr
from html import escape
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from domain.errors import Unavailable

log = logging.getLogger(__name__)

SMTP_TIMEOUT_S = 20
SAFE_NAME = re.compile(r"^[0-9A-Za-z_.-]{1,120}\.eml$")
URL = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True, slots=True)
class Mail:
    """One message; `link` is its action (a button in the HTML part, printed to the console in dev)."""

    to: str
    subject: str
    text: str
    link: str | None = None
    # When the message was written (Unix time); the outbox sets it, so a mail delivered late or out of
    # order keeps its place: its Date header and the dev mailbox's order follow it.
    written_at: float | None = None

    def written(self) -> datetime:
        return (
            datetime.fromtimestamp(self.written_at, UTC) if self.written_at is not None else datetime.now(UTC)
        )


def sign_in_method_mail(to: str, *, change: str, base_url: str) -> Mail:
    """Tell an account's owner a sign-in method was added or removed, so a change they did not make shows."""
    return Mail(
        to=to,
        subject="A sign-in method of your account changed",
        text=f"{change}\n\nIf this was not you, reset your password now: {base_url}/auth/forgot-password\n"
        "and review the sign-in methods on your account page.\n",
    )


class Mailer(Protocol):
    """Delivers one mail now (the outbox's worker calls it); raises when it could not."""

    def check(self) -> None:
        """Raise Unavailable when this mailer can never deliver (so the request says so at once)."""

    async def send(self, mail: Mail, message_id: str | None = None) -> None: ...


class MailNotSent(Exception):
    """A delivery failed; the message names the failure, never the mail's content or recipient."""


# Mail clients ignore stylesheets and classes: the HTML part carries inline styles and a table layout.
_FONT = "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
_PARAGRAPH = f'<p style="margin:0 0 16px;{_FONT};font-size:15px;line-height:24px;color:#1e293b">{{}}</p>'
_BUTTON = (
    '<table role="presentation" cellspacing="0" cellpadding="0" style="margin:8px 0 24px"><tr>'
    '<td style="border-radius:8px;background:#4f46e5">'
    '<a href="{href}" style="display:inline-block;padding:12px 22px;{font};font-size:15px;font-weight:600;'
    'color:#ffffff;text-decoration:none;border-radius:8px">{label}</a></td></tr></table>'
    '<p style="margin:0 0 16px;{font};font-size:13px;line-height:20px;color:#64748b">'
    "Button not working? Paste this link into your browser:<br>"
    '<a href="{href}" style="color:#4338ca;word-break:break-all">{href}</a></p>'
)
_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>'
    '<body style="margin:0;padding:0;background:#f1f5f9">'
    '<table role="presentation" width="100%" cellspacing="0" cellpadding="0" style="background:#f1f5f9">'
    '<tr><td align="center" style="padding:32px 16px">'
    '<table role="presentation" width="100%" cellspacing="0" cellpadding="0" style="max-width:520px">'
    '<tr><td style="padding:0 4px 16px;{font};font-size:16px;font-weight:700;color:#4f46e5">{brand}</td></tr>'
    '<tr><td style="background:#ffffff;border:1px solid #e2e8f0;border-radius:12px;padding:32px">'
    "{body}</td></tr>"
    '<tr><td style="padding:16px 4px;{font};font-size:12px;line-height:18px;color:#64748b">'
    "You received this because of an account at {brand}.</td></tr>"
    "</table></td></tr></table></body></html>"
)


def _linkify(text: str) -> str:
    """Escape a line of the plain text and make the addresses in it links."""
    parts: list[str] = []
    end = 0
    for match in URL.finditer(text):
        url = match.group().rstrip(".,;:)")
        parts.append(escape(text[end : match.start()]))
        parts.append(f'<a href="{escape(url)}" style="color:#4338ca">{escape(url)}</a>')
        end = match.start() + len(url)
    parts.append(escape(text[end:]))
    return "".join(parts)


def render_html(mail: Mail, sender: str) -> str:
    """The HTML part: the plain text's words, paragraph by paragraph, with `link` as a button."""
    blocks: list[str] = []
    for paragraph in re.split(r"\n\s*\n", mail.text.strip()):
        if mail.link and paragraph.strip() == mail.link:
            blocks.append(_BUTTON.format(href=escape(mail.link), label=escape(mail.subject), font=_FONT))
        else:
            blocks.append(_PARAGRAPH.format("<br>".join(_linkify(line) for line in paragraph.splitlines())))
    brand = escape(parseaddr(sender)[0] or parseaddr(sender)[1])
    return _PAGE.format(title=escape(mail.subject), brand=brand, body="".join(blocks), font=_FONT)


def build_message(mail: Mail, sender: str, message_id: str | None = None) -> EmailMessage:
    """The MIME message; `message_id` (the outbox id) makes its Message-ID, so a re-send is recognisable."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.written())
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{message_id}@{domain}>" if message_id else make_msgid(domain=domain)
    message.set_content(mail.text)
    message.add_alternative(render_html(mail, sender), subtype="html")
    return message


class FileMailer:
    """Development: each message becomes `<dir>/<time>-<n>.eml` and its link is printed to the console."""

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender
        self._counter = 0

    def check(self) -> None:
        return None

    async def send(self, mail: Mail, message_id: str | None = None) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._counter += 1
        tag = message_id or f"{self._counter:04d}"
        if message_id and any(self.directory.glob(f"*-{message_id}.eml")):
            return  # delivered before: a re-run of the outbox alarm writes it once
        stamp = mail.written().strftime("%Y%m%dT%H%M%S%f")
        path = self.directory / f"{stamp}-{tag}.eml"
        path.write_bytes(build_message(mail, self.sender, message_id).as_bytes(policy=policy.SMTP))
        line = f"[mail] to {mail.to}: {mail.subject}" + (f"\n[mail]   {mail.link}" if mail.link else "")
        print(line, file=sys.stdout, flush=True)


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """Where and how to send, parsed from SMTP_URL."""

    host: str
    port: int
    mode: str  # "plain", "opportunistic" (STARTTLS if offered), "starttls" (required) or "tls"
    username: str | None = None
    password: str | None = None


def parse_smtp_url(url: str) -> SmtpTarget:
    """Read SMTP_URL.

    `smtps://host[:465]` is TLS from the first byte. `smtp://host[:25]` upgrades with STARTTLS
    whenever the server offers it; `smtp+starttls://` or `?starttls=true` insists on it, and
    `?starttls=false` never tries (a local relay without TLS). Credentials go in the userinfo.
    """
    parts = urlsplit(url)
    starttls = parse_qs(parts.query).get("starttls", [""])[-1].lower()
    if parts.scheme == "smtps":
        mode, default_port = "tls", 465
    elif parts.scheme == "smtp+starttls" or (parts.scheme == "smtp" and starttls in {"1", "true", "yes"}):
        mode, default_port = "starttls", 587
    elif parts.scheme == "smtp":
        mode, default_port = ("plain" if starttls in {"0", "false", "no"} else "opportunistic"), 25
    else:
        raise ValueError(
            f"SMTP_URL must start with smtp://, smtp+starttls:// or smtps://, got {parts.scheme!r}"
        )
    if not parts.hostname:
        raise ValueError("SMTP_URL needs a host")
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or default_port,
        mode=mode,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class SmtpMailer:
    """Production: send with stdlib smtplib in a worker thread (the outbox's alarm calls it)."""

    def __init__(self, target: SmtpTarget, sender: str, *, tls_context: ssl.SSLContext | None = None) -> None:
        self.target = target
        self.sender = sender
        self.tls_context = tls_context or ssl.create_default_context()

    def connect(self) -> smtplib.SMTP:
        """A session with the server: TLS as SMTP_URL asks, logged in when it names a user."""
        target = self.target
        client: smtplib.SMTP
        if target.mode == "tls":
            client = smtplib.SMTP_SSL(
                target.host, target.port, timeout=SMTP_TIMEOUT_S, context=self.tls_context
            )
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT_S)
        try:
            client.ehlo()
            if target.mode == "starttls" or (target.mode == "opportunistic" and client.has_extn("starttls")):
                client.starttls(context=self.tls_context)
                client.ehlo()
            if target.username:
                client.login(target.username, target.password or "")
        except BaseException:
            client.close()
            raise
        return client

    def send_sync(self, mail: Mail, message_id: str | None = None) -> None:
        message = build_message(mail, self.sender, message_id)
        with self.connect() as client:
            client.send_message(message)

    def check(self) -> None:
        return None

    async def send(self, mail: Mail, message_id: str | None = None) -> None:
        try:
            await asyncio.to_thread(self.send_sync, mail, message_id)
        except (OSError, smtplib.SMTPException) as exc:
            # SMTP errors may quote the recipient: the retry record and the logs get the kind of failure.
            code = getattr(exc, "smtp_code", None)
            raise MailNotSent(
                f"SMTP delivery failed: {type(exc).__name__}" + (f" {code}" if code else "")
            ) from None


class DisabledMailer:
    """Production without SMTP_URL: refuse loudly instead of writing mail nobody will read."""

    def check(self) -> None:
        log.error("mail not sent: SMTP_URL is not configured")
        raise Unavailable("Email is not configured on this server. Please contact the operator.")

    async def send(self, mail: Mail, message_id: str | None = None) -> None:
        self.check()


def dev_mail_dir(data_dir: Path) -> Path:
    return data_dir / "mail"


def make_mailer(*, smtp_url: str | None, mail_from: str, data_dir: Path, is_production: bool) -> Mailer:
    if smtp_url:
        return SmtpMailer(parse_smtp_url(smtp_url), mail_from)
    if is_production:
        return DisabledMailer()
    return FileMailer(dev_mail_dir(data_dir), mail_from)


@dataclass(frozen=True, slots=True)
class StoredMail:
    """A development `.eml` file, read back for `/dev/mail` and tests."""

    name: str
    to: str
    subject: str
    date: str
    text: str
    html: str


def read_stored(path: Path) -> StoredMail:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    return StoredMail(
        name=path.name,
        to=str(message["To"] or ""),
        subject=str(message["Subject"] or ""),
        date=str(message["Date"] or ""),
        text=body_text(message, "plain"),
        html=body_text(message, "html"),
    )


def body_text(message: object, subtype: str) -> str:
    """The `text/<subtype>` part of a parsed message, or "" when it has none."""
    body = message.get_body(preferencelist=(subtype,)) if isinstance(message, EmailMessage) else None
    if body is None or body.get_content_subtype() != subtype:
        return ""
    return str(body.get_content()).replace("\r\n", "\n")  # an .eml file holds SMTP's CRLF line ends


def list_stored(directory: Path) -> list[StoredMail]:
    """Newest first."""
    if not directory.is_dir():
        return []
    return [read_stored(p) for p in sorted(directory.glob("*.eml"), reverse=True)]


def find_stored(directory: Path, name: str) -> StoredMail | None:
    if not SAFE_NAME.match(name):
        return None
    path = directory / name
    return read_stored(path) if path.is_file() else None
