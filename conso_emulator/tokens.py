"""Conso API tokens: HS256 JWTs shaped like the real ones (header `{"alg":"HS256"}`, payload
`{"iat", "exp", "sub": [PRMs]}`), minted and checked the way Conso API's `jose` code does."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime, timedelta
import hashlib
import hmac
import json
from typing import Any

TOKEN_LIFETIME = timedelta(days=364 + 365 + 365)
"""Conso API's `setExpirationTime('1094d')`."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _compact(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _signature(signing_input: str, secret: bytes) -> str:
    return _b64encode(hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest())


def mint(
    prms: Sequence[str], secret: bytes, *, issued_at: datetime, expires_at: datetime | None
) -> str:
    """A signed token for `prms`; `exp` defaults to `iat` + 1094 days."""
    expiry = expires_at if expires_at is not None else issued_at + TOKEN_LIFETIME
    payload = {"iat": int(issued_at.timestamp()), "exp": int(expiry.timestamp()), "sub": list(prms)}
    signing_input = f"{_b64encode(_compact({'alg': 'HS256'}))}.{_b64encode(_compact(payload))}"
    return f"{signing_input}.{_signature(signing_input, secret)}"


def is_valid(token: str, prm: str, secret: bytes, now: datetime) -> bool:
    """Conso API's `isTokenValid`: good HS256 signature, not expired, `prm` in the `sub` list."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    header_b64, payload_b64, signature = parts
    try:
        header: Any = json.loads(_b64decode(header_b64))
        payload: Any = json.loads(_b64decode(payload_b64))
    except ValueError:
        return False
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        return False
    expected = _signature(f"{header_b64}.{payload_b64}", secret)
    if not hmac.compare_digest(expected, signature) or not isinstance(payload, dict):
        return False
    exp = payload.get("exp")
    if not isinstance(exp, int | float) or exp <= now.timestamp():
        return False
    sub = payload.get("sub")
    return isinstance(sub, list) and prm in sub
