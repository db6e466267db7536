"""Webhook secrets at rest: encrypted with Fernet (AES-128-CBC with HMAC-SHA256, from the
`cryptography` package) under a key from PARKLINK_WEBHOOK_SECRET_KEY, or from a key file that
the console generates (0600) in the state directory when no key is set."""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.private_files import private_file, write_private

log = logging.getLogger(__name__)

SEALED = "fernet:"
"""Prefix of a sealed value; a stored secret without it is from before encryption."""
KEY_FILE = "webhook-secrets.key"


class SecretBox:
    def __init__(self, key: SecretStr) -> None:
        try:
            self._fernet = Fernet(key.get_secret_value().encode())
        except (ValueError, TypeError) as exc:
            raise ParkLinkError(
                "PARKLINK_WEBHOOK_SECRET_KEY must be a Fernet key (32 url-safe base64 bytes, "
                "e.g. from `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)"
            ) from exc

    @classmethod
    def generate(cls) -> SecretBox:
        return cls(SecretStr(Fernet.generate_key().decode()))

    @classmethod
    def from_settings(cls, key: SecretStr | None, state_dir: Path) -> SecretBox:
        """The configured key, or the state directory's key file (created when missing)."""
        if key is not None:
            return cls(key)
        path = state_dir / KEY_FILE
        if not path.exists():
            write_private(path, Fernet.generate_key())
            log.info("generated the webhook secret key %s", path)
        private_file(path)
        return cls(SecretStr(path.read_text().strip()))

    def seal(self, plain: str) -> str:
        return SEALED + self._fernet.encrypt(plain.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(SEALED):
            return stored
        try:
            return self._fernet.decrypt(stored[len(SEALED) :].encode()).decode()
        except InvalidToken as exc:
            raise ParkLinkError(
                "a webhook secret cannot be decrypted: PARKLINK_WEBHOOK_SECRET_KEY is not the "
                "key it was sealed with"
            ) from exc

    @staticmethod
    def is_sealed(stored: str) -> bool:
        return stored.startswith(SEALED)
