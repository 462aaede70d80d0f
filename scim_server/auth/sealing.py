"""Secrets the server must read back (an OIDC client secret): Fernet, keyed by SECRET_KEY.

A client secret is sent to the provider's token endpoint, so it cannot be hashed like a
bearer token: it is encrypted (AES-128-CBC with HMAC-SHA256) with a key derived from
SCIM_SERVER_SECRET_KEY. The same SECRET_KEY signs the sign-in cookies; HKDF with a label of
its own keeps the two uses apart.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import SecretKeyMissing

MIN_KEY_LENGTH = 32
_LABEL = b"scim-server: sealed secrets"


def checked_key(secret_key: str | None) -> str:
    """The configured SECRET_KEY, or the error that says how to set one."""
    if not secret_key:
        raise SecretKeyMissing(
            "SCIM_SERVER_SECRET_KEY is not set; OIDC sign-in needs it "
            '(e.g. python -c "import secrets; print(secrets.token_urlsafe(48))")'
        )
    if len(secret_key) < MIN_KEY_LENGTH:
        raise SecretKeyMissing(
            f"SCIM_SERVER_SECRET_KEY is too short: {MIN_KEY_LENGTH} characters or more"
        )
    return secret_key


class UnreadableSecret(Exception):
    """A sealed value that this key does not open (the key changed, or the value is not ours)."""


class SecretBox:
    def __init__(self, secret_key: str | None) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL).derive(
            checked_key(secret_key).encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def unseal(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise UnreadableSecret("the sealed secret does not open with this key") from exc
