"""Conso API consent token (JWT) reading and PDL checks. No Home Assistant import.

The token is an HS256 JWT signed with the service's secret, which a client cannot verify:
only its payload is decoded (by hand, no JWT library). Claims: `sub` (a JSON list of PRM
strings; a single string is accepted too), `iat` and `exp` (seconds since the epoch).
No message ever contains the token.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
import json
import re

_PDL_RE = re.compile(r"[0-9]{14}")
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]+={0,2}")


class TokenError(ValueError):
    """Base class of token and PDL problems."""


class MalformedTokenError(TokenError):
    """The text is not a Conso API token (not a JWT, bad encoding, no `sub`)."""


class ExpiredTokenError(TokenError):
    """The token's `exp` has passed: the user must consent again on the service's site."""


class InvalidPdlError(TokenError):
    """The PDL is not exactly 14 digits."""


class PdlNotInTokenError(TokenError):
    """The token does not give access to this PDL."""


@dataclass(frozen=True, slots=True)
class ConsentToken:
    """What a consent token says: the PRMs it covers and its validity period (aware UTC)."""

    prms: tuple[str, ...]
    issued_at: datetime | None
    expires_at: datetime | None

    def expired(self, now: datetime) -> bool:
        """Whether the token has expired at `now`."""
        return self.expires_at is not None and self.expires_at <= now


def parse_token(token: str) -> ConsentToken:
    """Decode a token's payload WITHOUT verifying its signature."""
    parts = token.strip().split(".")
    if len(parts) != 3 or not all(parts):
        raise MalformedTokenError("The token must have three dot-separated parts")
    _decode_json_object(parts[0], "header")
    payload = _decode_json_object(parts[1], "payload")

    sub = payload.get("sub")
    prms: tuple[str, ...]
    if isinstance(sub, str):
        prms = (sub,)
    elif isinstance(sub, list) and all(isinstance(prm, str) for prm in sub):
        prms = tuple(sub)
    else:
        raise MalformedTokenError("The token has no 'sub' list of PRMs")
    if not prms or not all(prms):
        raise MalformedTokenError("The token's 'sub' lists no PRM")
    return ConsentToken(
        prms=prms,
        issued_at=_timestamp(payload, "iat"),
        expires_at=_timestamp(payload, "exp"),
    )


def normalize_pdl(text: str) -> str:
    """Remove every space from a PDL as typed by a user (`"1234 5678 ..."`)."""
    return "".join(text.split())


def check_pdl(token: ConsentToken, pdl: str, now: datetime) -> None:
    """Check that `pdl` is a valid PDL covered by an unexpired `token` (raises TokenError)."""
    if not is_valid_pdl(pdl):
        raise InvalidPdlError("A PDL (PRM) is exactly 14 digits")
    if token.expired(now) and token.expires_at is not None:
        raise ExpiredTokenError(f"The token expired on {token.expires_at.date().isoformat()}")
    if pdl not in token.prms:
        raise PdlNotInTokenError("The token does not give access to this PDL")


def is_valid_pdl(pdl: str) -> bool:
    """Whether `pdl` is exactly 14 digits."""
    return _PDL_RE.fullmatch(pdl) is not None


def _decode_json_object(part: str, name: str) -> dict[str, object]:
    if not _B64URL_RE.fullmatch(part):
        raise MalformedTokenError(f"The token's {name} is not base64url")
    try:
        raw = base64.urlsafe_b64decode(part.rstrip("=") + "=" * (-len(part.rstrip("=")) % 4))
        decoded = json.loads(raw)
    except ValueError:  # binascii.Error and JSONDecodeError are ValueErrors
        raise MalformedTokenError(f"The token's {name} is not base64url-encoded JSON") from None
    if not isinstance(decoded, dict):
        raise MalformedTokenError(f"The token's {name} is not a JSON object")
    return decoded


def _timestamp(payload: dict[str, object], claim: str) -> datetime | None:
    value = payload.get(claim)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedTokenError(f"The token's '{claim}' is not a number")
    try:
        return datetime.fromtimestamp(value, UTC)
    except OverflowError, OSError, ValueError:
        raise MalformedTokenError(f"The token's '{claim}' is out of range") from None
