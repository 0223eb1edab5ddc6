"""Emulator tokens look like conso.boris.sh's and are checked like Conso API checks them."""

from __future__ import annotations

import base64
from datetime import timedelta
import json

import jwt

from conso_emulator import HOME_PDL, PV_PDL, Emulator

from .helpers import NOW, TODAY, Api, Clock


def segment(token: str, index: int) -> str:
    part = token.split(".")[index]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


def test_token_has_the_real_header_and_claims(emu: Emulator) -> None:
    token = emu.mint_token([HOME_PDL, PV_PDL])
    assert segment(token, 0) == '{"alg":"HS256"}'
    payload = json.loads(segment(token, 1))
    assert list(payload) == ["iat", "exp", "sub"]
    assert payload["iat"] == int(NOW.timestamp())
    assert payload["exp"] - payload["iat"] == 1094 * 86400
    assert payload["sub"] == [HOME_PDL, PV_PDL]
    assert "=" not in token


def test_pyjwt_reads_the_token_without_verification(emu: Emulator) -> None:
    token = emu.mint_token([HOME_PDL])
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == [HOME_PDL]


def test_explicit_issue_and_expiry(emu: Emulator) -> None:
    issued = NOW - timedelta(days=1000)
    token = emu.mint_token([HOME_PDL], issued_at=issued, expires_at=NOW + timedelta(days=5))
    payload = json.loads(segment(token, 1))
    assert payload["iat"] == int(issued.timestamp())
    assert payload["exp"] == int((NOW + timedelta(days=5)).timestamp())


async def test_valid_multi_prm_token_serves_each_prm(api: Api, emu: Emulator) -> None:
    token = emu.mint_token([HOME_PDL, PV_PDL])
    for pdl in (HOME_PDL, PV_PDL):
        reply = await api.call(
            "consommation_quotidienne",
            {
                "pointId": pdl,
                "dateDebut": (TODAY - timedelta(days=3)).isoformat(),
                "dateFin": TODAY.isoformat(),
            },
            token=token,
        )
        assert reply.status == 200


async def test_expiry_follows_the_emulator_clock(api: Api, emu: Emulator, clock: Clock) -> None:
    token = emu.mint_token([HOME_PDL], expires_at=NOW + timedelta(hours=1))
    params = {"pointId": HOME_PDL, "dateDebut": "2026-11-10", "dateFin": "2026-11-12"}
    assert (await api.call("consommation_quotidienne", params, token=token)).status == 200
    clock.advance(timedelta(hours=1))  # exp == now: expired, like jose
    assert (await api.call("consommation_quotidienne", params, token=token)).status == 401


def test_token_check(emu: Emulator) -> None:
    token = emu.mint_token([HOME_PDL])
    assert emu.token_is_valid(token, HOME_PDL)
    assert not emu.token_is_valid(token, PV_PDL)
    assert not emu.token_is_valid(token + "x", HOME_PDL)
    assert not Emulator(secret=b"other").token_is_valid(token, HOME_PDL)
    header, payload, _ = token.split(".")
    alg_none = base64.urlsafe_b64encode(b'{"alg":"none"}').decode().rstrip("=")
    assert not emu.token_is_valid(f"{alg_none}.{payload}.", HOME_PDL)
    assert not emu.token_is_valid(f"{header}.{payload}.", HOME_PDL)
