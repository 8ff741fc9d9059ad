"""Sign-up time for a taken vs a free address, as the requester sees it: `python -m bench.enumeration_timing`.

The app runs in this process (embedded Redis, a throwaway SQLite file) behind Litestar's test
client on 127.0.0.1. Each sample posts the sign-up form once; taken and free samples alternate,
so drift on a shared machine hits both alike. The work the app does after answering (account
row, mail) is waited for between samples and not counted: it is invisible to the requester.
Prints mean and p50 of both and their difference.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from litestar import Litestar  # noqa: E402
from litestar.testing import TestClient  # noqa: E402

from domain.auth.core import Auth, AuthLimits, Limit  # noqa: E402
from domain.auth.passwords import OWASP_MINIMUM, PasswordHasher  # noqa: E402
from domain.mail import dev_mail_dir, list_stored  # noqa: E402
from settings import Settings  # noqa: E402

BASE_URL = "http://127.0.0.1:8000"
PASSWORD = "bench-Password-4711!"
TAKEN = "taken@example.com"
Client = TestClient[Litestar]


def _drain(client: Client) -> None:
    auth = client.app.state.services.auth
    assert isinstance(auth, Auth)
    client.blocking_portal.call(auth.drain)


def _sign_up(client: Client, email: str, csrf: str) -> float:
    form = {"name": "Bench", "email": email, "password": PASSWORD, "_csrf_token": csrf}
    start = time.perf_counter()
    response = client.post("/auth/sign-up", data=form)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.text[:300]
    _drain(client)
    return elapsed


def _confirm(client: Client, data_dir: Path) -> None:
    """Follow the link mailed to TAKEN, so it is a confirmed account like any registered one."""
    # The outbox delivers mail in the background (an alarm): wait for it, up to 10 s.
    deadline = time.monotonic() + 10
    while not (mails := [m for m in list_stored(dev_mail_dir(data_dir)) if m.to == TAKEN]):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no mail to {TAKEN} within 10 s")
        time.sleep(0.05)
    mail = mails[0]
    found = re.search(r"https?://\S+token=\S+", mail.text)
    assert found, mail.text
    link = urlsplit(found.group(0))
    client.get(f"{link.path}?{link.query}")
    client.cookies.delete("session")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=100, help="sign-ups per kind of address")
    parser.add_argument(
        "--full-cost", action="store_true", help="hash at the app's cost, not OWASP's minimum"
    )
    args = parser.parse_args()
    from app import create_app

    data_dir = Path(tempfile.mkdtemp(prefix="rstack-enum-", dir="/tmp"))
    settings = Settings(
        app_env="development", data_dir=data_dir, base_url=BASE_URL, log_level="WARNING"
    ).finalized()
    try:
        with TestClient(app=create_app(settings), base_url=BASE_URL) as client:
            auth = client.app.state.services.auth
            assert isinstance(auth, Auth)
            # The same real argon2id on both paths; OWASP's minimum cost keeps its noise from
            # drowning the difference being measured (--full-cost uses the app's own).
            if not args.full_cost:
                auth.hasher = PasswordHasher(OWASP_MINIMUM)
            plenty = Limit(100_000, 60)
            auth.limits = AuthLimits(sign_in=plenty, reset=plenty, sign_up=plenty, password_check=plenty)
            client.get("/auth/sign-in")
            csrf = client.cookies["csrftoken"]
            _sign_up(client, TAKEN, csrf)
            _confirm(client, data_dir)
            client.get("/auth/sign-in")
            csrf = client.cookies["csrftoken"]
            for i in range(5):  # warm-up: caches, prepared statements, the hasher's threads
                _sign_up(client, f"warm{i}@example.com", csrf)
                _sign_up(client, TAKEN, csrf)
            taken: list[float] = []
            free: list[float] = []
            for i in range(args.samples):
                taken.append(_sign_up(client, TAKEN, csrf))
                free.append(_sign_up(client, f"free{i}@example.com", csrf))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    ms = 1000.0
    rows = [("taken", taken), ("free", free)]
    print(f"sign-up, {args.samples} samples each (ms)")
    for name, values in rows:
        print(
            f"  {name:6} mean {statistics.mean(values) * ms:7.2f}  p50 {statistics.median(values) * ms:7.2f}"
        )
    diff_mean = (statistics.mean(taken) - statistics.mean(free)) * ms
    diff_p50 = (statistics.median(taken) - statistics.median(free)) * ms
    spread = statistics.stdev(free) * ms
    print(
        f"  taken - free: mean {diff_mean:+.2f} ms, p50 {diff_p50:+.2f} ms (stdev of free: {spread:.2f} ms)"
    )


if __name__ == "__main__":
    main()
