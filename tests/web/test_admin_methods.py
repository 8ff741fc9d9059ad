"""The admin panel over passkeys and two-factor: no key material shown; deletes go through the domain."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.auth.sealing import seal
from domain.auth.tables import BackupCode, Passkey, TwoFactor, User
from tests.web.admin_support import signed_in_admin, signed_in_member
from tests.web.auth_support import Client, auth_of, mails_to, run
from tests.web.test_admin import API_HEADERS, piccolo_headers

PUBLIC_KEY = "pQECAyYgASFYIPublicKeyMaterial"
CREDENTIAL_ID = "Q3JlZGVudGlhbElkT2ZBZGE"


def give_methods(client: Client, email: str) -> None:
    async def go() -> None:
        user = await User.select(User.id).where(User.email == email).first()
        assert user is not None
        now = datetime.now(UTC)
        await Passkey.insert(
            Passkey(
                user=user["id"],
                credential_id=CREDENTIAL_ID,
                public_key=PUBLIC_KEY,
                user_handle="aGFuZGxl",
                name="Laptop",
                created_at=now,
            )
        )
        secret = seal(auth_of(client).methods_key, "JBSWY3DPEHPK3PXP", context=f"totp:{user['id']}")
        await TwoFactor.insert(TwoFactor(user=user["id"], secret=secret, confirmed=True, created_at=now))
        await BackupCode.insert(BackupCode(user=user["id"], code_hash="f" * 64, created_at=now))

    run(client, go)


def test_admin_lists_passkeys_and_two_factor_without_key_material(client: Client) -> None:
    signed_in_member(client)
    give_methods(client, "ada@example.com")
    signed_in_admin(client)
    client.get("/admin/")
    passkeys = client.get("/admin/api/tables/passkeys/", headers=API_HEADERS)
    assert passkeys.status_code == 200
    assert [row["name"] for row in passkeys.json()["rows"]] == ["Laptop"]
    two_factor = client.get("/admin/api/tables/two_factor/", headers=API_HEADERS)
    assert [row["confirmed"] for row in two_factor.json()["rows"]] == [True]
    assert "secret" not in two_factor.json()["rows"][0]
    for table in ("passkeys", "two_factor"):
        schema = client.get(f"/admin/api/tables/{table}/schema/", headers=API_HEADERS)
        rows = client.get(f"/admin/api/tables/{table}/", headers=API_HEADERS)
        for text in (rows.text, schema.text):
            for secret in (
                PUBLIC_KEY,
                CREDENTIAL_ID,
                "public_key",
                "user_handle",
                "v1:",
                "last_step",
            ):
                assert secret not in text, (table, secret)


def test_admin_deleting_rows_resets_two_factor_and_removes_the_passkey_and_mails_the_owner(
    client: Client,
) -> None:
    signed_in_member(client)
    give_methods(client, "ada@example.com")
    signed_in_admin(client)
    client.get("/admin/")
    for table in ("two_factor", "passkeys"):
        [row] = client.get(f"/admin/api/tables/{table}/", headers=API_HEADERS).json()["rows"]
        response = client.delete(f"/admin/api/tables/{table}/{row['id']}/", headers=piccolo_headers(client))
        assert response.status_code == 204

    async def left() -> tuple[int, int, int]:
        return await Passkey.count(), await TwoFactor.count(), await BackupCode.count()

    assert run(client, left) == (0, 0, 0)
    notices = [
        m
        for m in mails_to(client, "ada@example.com")
        if m.subject == "A sign-in method of your account changed"
    ]
    assert len(notices) == 2
