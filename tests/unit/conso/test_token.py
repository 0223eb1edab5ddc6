"""Consent token decoding (no signature check) and PDL checks."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
import json
from typing import Any

import pytest

from custom_components.linky.conso.token import (
    ConsentToken,
    ExpiredTokenError,
    InvalidPdlError,
    MalformedTokenError,
    PdlNotInTokenError,
    TokenError,
    check_pdl,
    normalize_pdl,
    parse_token,
)

PDL = "12345678901234"
OTHER = "22222222222222"
IAT = 1_790_000_000  # 2026-09-21
NOW = datetime(2027, 1, 1, tzinfo=UTC)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(payload: Any, header: Any = None) -> str:
    """A JWT shaped like Conso API's (HS256 header, fake signature)."""
    header = {"alg": "HS256"} if header is None else header
    return ".".join(
        (_b64(json.dumps(header).encode()), _b64(json.dumps(payload).encode()), "c2lnbmF0dXJl")
    )


GOOD = make_token({"iat": IAT, "exp": IAT + 1094 * 86400, "sub": [PDL, OTHER]})


def test_good_token() -> None:
    token = parse_token(GOOD)
    assert token == ConsentToken(
        prms=(PDL, OTHER),
        issued_at=datetime.fromtimestamp(IAT, UTC),
        expires_at=datetime.fromtimestamp(IAT, UTC) + timedelta(days=1094),
    )
    assert token.issued_at is not None
    assert token.issued_at.tzinfo is UTC


def test_token_with_surrounding_whitespace() -> None:
    assert parse_token(f"  {GOOD}\n").prms == (PDL, OTHER)


def test_sub_as_a_single_string() -> None:
    assert parse_token(make_token({"sub": PDL})).prms == (PDL,)


def test_token_without_dates() -> None:
    token = parse_token(make_token({"sub": [PDL]}))
    assert token.issued_at is None
    assert token.expires_at is None
    check_pdl(token, PDL, NOW)  # no expiry: valid


def test_padded_base64_is_accepted() -> None:
    header, payload, signature = GOOD.split(".")
    padded = payload + "=" * (-len(payload) % 4)
    assert parse_token(f"{header}.{padded}.{signature}").prms == (PDL, OTHER)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        GOOD.rsplit(".", 1)[0] + ".",  # empty signature
        "eyJhbGciOiJIUzI1NiJ9.***.sig",  # not base64url
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOlsiMSJd+.sig",  # standard base64 character
        "eyJhbGciOiJIUzI1NiJ9.a.sig",  # impossible base64 length
        f"{_b64(b'{')}.{_b64(b'{}')}.sig",  # header not JSON
        f"{_b64(b'{}')}.{_b64(b'not json')}.sig",  # payload not JSON
        make_token([PDL]),  # payload not an object
        make_token({"sub": [PDL]}, header=["alg"]),  # header not an object
        make_token({"iat": IAT}),  # no sub
        make_token({"sub": []}),
        make_token({"sub": [""]}),
        make_token({"sub": [PDL, 1234]}),
        make_token({"sub": 12345678901234}),
        make_token({"sub": [PDL], "exp": "soon"}),
        make_token({"sub": [PDL], "exp": True}),
        make_token({"sub": [PDL], "iat": 1e20}),
    ],
)
def test_malformed_tokens(text: str) -> None:
    with pytest.raises(MalformedTokenError) as info:
        parse_token(text)
    assert isinstance(info.value, TokenError)
    assert isinstance(info.value, ValueError)
    if text:
        assert text not in str(info.value)


def test_check_pdl_accepts_a_covered_pdl() -> None:
    token = parse_token(GOOD)
    check_pdl(token, PDL, NOW)
    check_pdl(token, OTHER, NOW)


def test_expired_token() -> None:
    token = parse_token(GOOD)
    assert token.expires_at is not None
    check_pdl(token, PDL, token.expires_at - timedelta(seconds=1))
    with pytest.raises(ExpiredTokenError):
        check_pdl(token, PDL, token.expires_at)
    with pytest.raises(ExpiredTokenError):
        check_pdl(token, PDL, token.expires_at + timedelta(days=1))


@pytest.mark.parametrize(
    "pdl",
    ["1234567890123", "123456789012345", "1234567890123a", "", "\uff11" * 14],
)
def test_invalid_pdl(pdl: str) -> None:
    with pytest.raises(InvalidPdlError):
        check_pdl(parse_token(GOOD), pdl, NOW)


def test_pdl_not_in_token() -> None:
    with pytest.raises(PdlNotInTokenError):
        check_pdl(parse_token(GOOD), "33333333333333", NOW)


def test_normalize_pdl() -> None:
    assert normalize_pdl(" 1234 5678 9012 34 ") == PDL
    assert normalize_pdl("12345678901234\t") == PDL
    assert normalize_pdl("1234\u00a05678\u00a0901234") == PDL
