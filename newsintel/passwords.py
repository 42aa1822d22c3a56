"""Password hashes for the app's sign-in (settings.app_password_hash): scrypt, stdlib only.

Format: ``scrypt$<n>$<r>$<p>$<salt>$<key>`` with salt and key in URL-safe base64, e.g.
``scrypt$32768$8$1$2kM...$Qm9...``. Make one with::

    python -m newsintel.passwords        # asks for the password twice, prints the hash

scrypt (RFC 7914) is memory-hard, so guessing a leaked hash on a GPU is slow; it ships
with Python's hashlib, so no dependency is added for it. n=2**15, r=8 costs 32 MB and
about 0.1 s per check, which also slows down guessing through the sign-in form.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import secrets
import sys

from newsintel.errors import ConfigError

SCHEME = "scrypt"
N, R, P = 2**15, 8, 1
_KEY_BYTES = 32
_MAXMEM = 64 * 1024 * 1024  # scrypt needs 128 * n * r bytes: 32 MB at our parameters


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    """A new salted scrypt hash of ``password`` in the documented format."""
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_KEY_BYTES, maxmem=_MAXMEM
    )
    return f"{SCHEME}${n}${r}${p}${_b64(salt)}${_b64(key)}"


def check_hash_format(stored: str) -> None:
    """Raise ConfigError unless ``stored`` is a hash this module can verify."""
    _parse(stored)


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes]:
    parts = stored.strip().split("$")
    try:
        if len(parts) != 6 or parts[0] != SCHEME:
            raise ValueError("not scrypt$n$r$p$salt$key")
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, key = _unb64(parts[4]), _unb64(parts[5])
        if n < 2 or n & (n - 1) or r < 1 or p < 1 or not salt or len(key) < 16:
            raise ValueError("bad parameters")
    except ValueError as exc:
        raise ConfigError(
            f"NEWSINTEL_APP_PASSWORD_HASH is not a scrypt hash ({exc}); make one with "
            "`python -m newsintel.passwords`"
        ) from None
    return n, r, p, salt, key


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (constant-time comparison)."""
    n, r, p, salt, key = _parse(stored)
    given = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(key), maxmem=_MAXMEM
    )
    return hmac.compare_digest(given, key)


def main() -> int:
    """Ask for a password twice and print its hash for NEWSINTEL_APP_PASSWORD_HASH."""
    first = getpass.getpass("Password: ")
    if not first:
        print("error: the password is empty", file=sys.stderr)
        return 1
    if getpass.getpass("Again: ") != first:
        print("error: the passwords differ", file=sys.stderr)
        return 1
    print(hash_password(first))
    return 0


if __name__ == "__main__":
    sys.exit(main())
