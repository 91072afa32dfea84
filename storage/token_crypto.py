"""Slack tokens at rest: encrypted with Fernet, several keys for rotation, never in clear.

LOYALTY_ENCRYPTION_KEY holds one or more Fernet keys, comma-separated, newest first. New values
are encrypted with the first key; any listed key decrypts, so an old key can be retired once
`reencrypt` has rewritten every value with the new one.

Columns of type `EncryptedText` encrypt on write and decrypt on read. With no key configured a
write fails rather than store a token in clear.
"""

from __future__ import annotations

import logging
import re
import threading

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator


class TokenKeyError(Exception):
    """No usable encryption key, or a stored value no configured key can decrypt."""


def parse_keys(value: str | None) -> list[Fernet]:
    """Fernet keys from a comma-separated string; raises ValueError naming the bad position."""
    parts = [p.strip() for p in (value or "").split(",") if p.strip()]
    if not parts:
        raise ValueError("no key")
    keys = []
    for i, part in enumerate(parts, 1):
        try:
            keys.append(Fernet(part.encode()))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"key {i} is not a Fernet key") from exc
    return keys


class TokenCipher:
    def __init__(self, keys: str):
        self._fernet = MultiFernet(parse_keys(keys))

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode("ascii")

    def decrypt(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode()
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise TokenKeyError(
                "a stored token cannot be decrypted with LOYALTY_ENCRYPTION_KEY "
                "(was a key removed before re-encrypting?)"
            ) from exc

    def rotate(self, stored: str) -> str:
        """Re-encrypt with the newest key (keeps the value)."""
        return self._fernet.rotate(stored.encode("ascii")).decode("ascii")


_lock = threading.Lock()
_cipher: TokenCipher | None = None


def configure(keys: str) -> TokenCipher:
    """Set the process-wide cipher used by EncryptedText columns."""
    global _cipher
    cipher = TokenCipher(keys)
    with _lock:
        _cipher = cipher
    return cipher


def cipher() -> TokenCipher:
    if _cipher is None:
        raise TokenKeyError("LOYALTY_ENCRYPTION_KEY is not configured; refusing to store a token")
    return _cipher


class EncryptedText(TypeDecorator):
    """A text column whose values are Fernet-encrypted in the database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return cipher().encrypt(str(value))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return cipher().decrypt(value)


# ---- keeping tokens out of logs ---------------------------------------------------------------
# Slack tokens (xoxb-, xoxp-, xoxe.xoxb-, xoxe-, xapp-) and Fernet ciphertexts of them.
_SECRET = re.compile(
    r"\b(?:xox[a-z]\.xox[a-z]-|xox[a-z]-|xapp-)[A-Za-z0-9\-_.]+|gAAAAA[A-Za-z0-9\-_=]{20,}"
)


def redact(text: str) -> str:
    return _SECRET.sub("[redacted]", text)


_factory_installed = False


def install_log_redaction() -> None:
    """Redact tokens from every log record of this process, whoever emits it.

    slack_sdk logs API responses (oauth.v2.access carries the tokens) at DEBUG; a record
    factory catches them at creation, before any handler or filter sees them.
    """
    global _factory_installed
    with _lock:
        if _factory_installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args, **kwargs):
            record = previous(*args, **kwargs)
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - a broken format string is logging's problem
                return record
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, ()
            return record

        logging.setLogRecordFactory(factory)
        _factory_installed = True
