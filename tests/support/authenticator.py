"""A software WebAuthn authenticator for tests: a real P-256 key, 'none' attestation, signed assertions."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, encode_cbor

UP, UV, AT = 0x01, 0x04, 0x40


@dataclass
class Credential:
    """One resident credential: its id, private key, RP id, user handle and signature count."""

    rp_id: str
    user_handle: bytes
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        # COSE_Key: kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y.
        return encode_cbor(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )


def _client_data(kind: str, challenge: str, origin: str) -> bytes:
    return json.dumps(
        {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}, separators=(",", ":")
    ).encode()


def create(
    options_json: str, origin: str, *, rp_id: str | None = None, sign_count: int = 0
) -> tuple[Credential, str]:
    """Answer `navigator.credentials.create()` options: a new credential and the browser's JSON response.

    `rp_id` overrides the RP the authenticator scopes the credential to (a credential of another site).
    """
    options = json.loads(options_json)
    credential = Credential(
        rp_id=rp_id or options["rp"]["id"],
        user_handle=base64url_to_bytes(options["user"]["id"]),
        sign_count=sign_count,
    )
    auth_data = (
        hashlib.sha256(credential.rp_id.encode()).digest()
        + bytes([UP | UV | AT])
        + sign_count.to_bytes(4, "big")
        + bytes(16)  # AAGUID: none given
        + len(credential.credential_id).to_bytes(2, "big")
        + credential.credential_id
        + credential.cose_public_key()
    )
    attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
    response = {
        "id": bytes_to_base64url(credential.credential_id),
        "rawId": bytes_to_base64url(credential.credential_id),
        "response": {
            "clientDataJSON": bytes_to_base64url(
                _client_data("webauthn.create", options["challenge"], origin)
            ),
            "attestationObject": bytes_to_base64url(attestation),
            "transports": ["internal"],
        },
        "type": "public-key",
        "clientExtensionResults": {},
        "authenticatorAttachment": "platform",
    }
    return credential, json.dumps(response)


def get(options_json: str, origin: str, credential: Credential, *, step: int = 1) -> str:
    """Answer `navigator.credentials.get()` options with `credential`, its sign count moved by `step`."""
    options = json.loads(options_json)
    credential.sign_count += step
    auth_data = (
        hashlib.sha256(credential.rp_id.encode()).digest()
        + bytes([UP | UV])
        + credential.sign_count.to_bytes(4, "big")
    )
    client_data = _client_data("webauthn.get", options["challenge"], origin)
    signature = credential.key.sign(
        auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
    )
    return json.dumps(
        {
            "id": bytes_to_base64url(credential.credential_id),
            "rawId": bytes_to_base64url(credential.credential_id),
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "authenticatorData": bytes_to_base64url(auth_data),
                "signature": bytes_to_base64url(signature),
                "userHandle": bytes_to_base64url(credential.user_handle),
            },
            "type": "public-key",
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }
    )
