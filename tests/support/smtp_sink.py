"""A real SMTP server (aiosmtpd) on 127.0.0.1 that hands every received message to the test."""

from __future__ import annotations

import datetime
import ipaddress
import queue
import socket
import ssl
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USERNAME = "mailer"
PASSWORD = "s3cret-pass"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost and its key, written as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _Handler:
    def __init__(self, inbox: queue.Queue[Received]) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.inbox.put(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USERNAME.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok)


class SmtpSink:
    """Start with `mode` "plain", "starttls" (auth required over TLS) or "tls" (implicit TLS, smtps)."""

    def __init__(self, mode: str = "plain", cert_dir: Path | None = None) -> None:
        self.mode = mode
        self.port = free_port()
        self.inbox: queue.Queue[Received] = queue.Queue()
        self.client_context: ssl.SSLContext | None = None
        kwargs: dict[str, Any] = {}
        if mode != "plain":
            assert cert_dir is not None
            cert, key = self_signed_cert(cert_dir)
            server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            server_context.load_cert_chain(cert, key)
            self.client_context = ssl.create_default_context(cafile=str(cert))
            if mode == "starttls":
                kwargs.update(
                    tls_context=server_context,
                    require_starttls=True,
                    authenticator=_authenticator,
                    auth_require_tls=True,
                )
            else:
                # The whole connection is TLS, which aiosmtpd cannot see; let it offer AUTH anyway.
                kwargs.update(
                    ssl_context=server_context, authenticator=_authenticator, auth_require_tls=False
                )
        self.controller = Controller(_Handler(self.inbox), hostname="127.0.0.1", port=self.port, **kwargs)

    @property
    def url(self) -> str:
        if self.mode == "plain":
            return f"smtp://127.0.0.1:{self.port}"
        scheme = "smtp+starttls" if self.mode == "starttls" else "smtps"
        return f"{scheme}://{USERNAME}:{PASSWORD}@127.0.0.1:{self.port}"

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def next_message(self, timeout: float = 10) -> Received:
        """Block until the server has received a message (a real event, not a sleep)."""
        return self.inbox.get(timeout=timeout)
