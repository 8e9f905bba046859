"""Secrets at rest: Fernet with a key derived from INKLINE_SECRET_KEY."""

from __future__ import annotations

import base64
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"inkline", info=b"secrets-at-rest")
    return Fernet(base64.urlsafe_b64encode(key.derive(secret_key.encode())))


def encrypt_json(data: dict[str, Any]) -> str:
    if not data:
        return ""
    return _fernet(settings.SECRET_KEY).encrypt(json.dumps(data).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return dict(json.loads(_fernet(settings.SECRET_KEY).decrypt(token.encode())))
    except InvalidToken as exc:
        raise ValueError("stored secrets cannot be decrypted with this INKLINE_SECRET_KEY") from exc
