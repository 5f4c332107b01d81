"""Encryption of sensitive personal fields at rest, and keyed hashes for exact lookup.

Values are sealed with AES-256-GCM under a key derived from ``FIELD_ENCRYPTION_KEY``;
the lookup hash is an HMAC-SHA256 under a second derived key, so the database alone
reveals neither the value nor (for small value spaces like phone numbers) a
dictionary-attackable plain hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_PREFIX = "v1:"


class DecryptionError(ValueError):
    """A stored value does not open under the configured key."""


@cache
def _derived(purpose: bytes, key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"linli-field", info=purpose).derive(key)


def _enc_key() -> bytes:
    return _derived(b"encrypt", settings.FIELD_ENCRYPTION_KEY)


def _hash_key() -> bytes:
    return _derived(b"lookup-hash", settings.FIELD_ENCRYPTION_KEY)


def encrypt(plain: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_enc_key()).encrypt(nonce, plain.encode("utf-8"), None)
    return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def decrypt(token: str) -> str:
    if not token.startswith(_PREFIX):
        raise DecryptionError("unknown ciphertext version")
    try:
        raw = base64.urlsafe_b64decode(token[len(_PREFIX) :].encode("ascii"))
        return AESGCM(_enc_key()).decrypt(raw[:12], raw[12:], None).decode("utf-8")
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("value does not open under the configured key") from exc


def normalise(value: str) -> str:
    """The canonical form that lookups hash: NFKC (full-width digits become ASCII), no
    spaces or dashes, upper case (ID 'x')."""
    return "".join(unicodedata.normalize("NFKC", value).split()).replace("-", "").upper()


def lookup_hash(value: str) -> str:
    return hmac.new(_hash_key(), normalise(value).encode("utf-8"), hashlib.sha256).hexdigest()


def mask(value: str, *, keep_start: int = 3, keep_end: int = 4) -> str:
    """138****5678, 1101**********1234: enough to recognise, not enough to use."""
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return value[:1] + "*" * (len(value) - 1)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def new_field_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii").rstrip("=")
