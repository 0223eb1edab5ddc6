"""Scripted faults, the Cloudflare ban, and the request log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import time

import pytest

from conso_emulator import HOME_PDL, Emulator, Fault

from .helpers import FIXTURES, NOW, TODAY, Api, fixture, ordered

WEEK = (TODAY - timedelta(days=7), TODAY)
DAILY = "consommation_quotidienne"
CURVE = "courbe_de_charge_consommation"


async def test_rate_limited_has_the_real_shape_and_next_access_time(
    api: Api, emu: Emulator
) -> None:
    real = fixture("errors/conso_429_900804_quota_next_access_time.json")
    emu.faults.push(Fault(429, next_access_time=datetime(2026, 11, 20, 10, 0, tzinfo=UTC)))
    reply = await api.get(DAILY, HOME_PDL, *WEEK)
    assert reply.status == 429
    expected = real | {
        "error": real["error"]
        | {
            "description": "You have exceeded your quota .You can access API after "
            "2026-Nov-20 10:00:00+0000 UTC",
            "nextAccessTime": "2026-Nov-20 10:00:00+0000 UTC",
        }
    }
    assert ordered(reply.body) == ordered(expected)
    assert (await api.get(DAILY, HOME_PDL, *WEEK)).status == 200


async def test_rate_limited_defaults_to_the_next_hour(api: Api, emu: Emulator) -> None:
    emu.faults.push(Fault(429, kind="rate_limited"))
    reply = await api.get(DAILY, HOME_PDL, *WEEK)
    assert reply.body["error"]["nextAccessTime"] == "2026-Nov-20 09:00:00+0000 UTC"  # NOW is 08:00Z


@pytest.mark.parametrize(
    ("fault", "path"),
    [
        (Fault(429, kind="rate_limited_fault"), "errors/conso_429_900807_fault_quota.json"),
        (Fault(500), "errors/conso_500_technical_error.json"),
        (Fault(500, kind="token_refresh"), "errors/conso_500_token_refresh_failed.json"),
        (Fault(500, kind="plain_text_500"), "errors/conso_500_enedis_plain_text_error.json"),
        (Fault(500, kind="unknown_error"), "errors/conso_500_unknown_error.json"),
    ],
)
async def test_error_faults_serve_the_real_bodies(
    api: Api, emu: Emulator, fault: Fault, path: str
) -> None:
    emu.faults.push(fault)
    reply = await api.get(CURVE, HOME_PDL, *WEEK)
    assert reply.status == fault.status
    assert ordered(reply.body) == ordered(fixture(path))


async def test_bad_gateway_is_cloudflare_problem_json(api: Api, emu: Emulator) -> None:
    emu.faults.push(Fault(502))
    reply = await api.get(DAILY, HOME_PDL, *WEEK)
    assert reply.status == 502
    assert list(reply.body) == [
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "error_code",
        "error_name",
        "error_category",
        "ray_id",
    ]
    assert reply.body["error_name"] == "origin_bad_gateway"
    assert reply.body["status"] == 502


async def test_banned_fault_is_the_cloudflare_html_page(api: Api, emu: Emulator) -> None:
    recorded = (FIXTURES / "errors" / "cloudflare_403_blocked_truncated.html").read_text("utf-8")
    emu.faults.push(Fault(403))
    reply = await api.get(DAILY, HOME_PDL, *WEEK)
    assert reply.status == 403
    assert reply.content_type == "text/html"
    assert reply.text.startswith(recorded)
    assert "Sorry, you have been blocked" in reply.text


async def test_slow_fault_answers_normally_after_the_delay(api: Api, emu: Emulator) -> None:
    emu.faults.push(Fault(200, kind="slow", delay=0.3))
    started = time.monotonic()
    reply = await api.get(DAILY, HOME_PDL, *WEEK)
    assert time.monotonic() - started >= 0.3
    assert reply.status == 200
    started = time.monotonic()
    await api.get(DAILY, HOME_PDL, *WEEK)
    assert time.monotonic() - started < 0.3


async def test_faults_are_consumed_in_order_with_times_and_types(api: Api, emu: Emulator) -> None:
    emu.faults.push(Fault(500, times=2, types={CURVE}))
    emu.faults.push(Fault(429))
    statuses = [
        (await api.get(DAILY, HOME_PDL, *WEEK)).status,
        (await api.get(CURVE, HOME_PDL, *WEEK)).status,
        (await api.get(CURVE, HOME_PDL, *WEEK)).status,
        (await api.get(CURVE, HOME_PDL, *WEEK)).status,
    ]
    assert statuses == [429, 500, 500, 200]
    assert len(emu.faults) == 0


async def test_faults_apply_before_validation(api: Api, emu: Emulator) -> None:
    emu.faults.push(Fault(500))
    reply = await api.call(DAILY, {"pointId": "bad"}, headers={})
    assert reply.status == 500


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="kind"):
        Fault(418)
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault(500, kind="oops")
    with pytest.raises(ValueError, match="times"):
        Fault(500, times=0)


async def test_ban_after_n_requests(api: Api, emu: Emulator) -> None:
    emu.ban_after(2)
    replies = [await api.get(DAILY, HOME_PDL, *WEEK) for _ in range(4)]
    assert [reply.status for reply in replies] == [200, 200, 403, 403]
    assert all("Cloudflare" in reply.text for reply in replies[2:])
    other = await api.call("anything", {}, method="POST")
    assert other.status == 403
    emu.ban_after(None)
    assert (await api.get(DAILY, HOME_PDL, *WEEK)).status == 200
    emu.ban_after(0)
    assert (await api.get(DAILY, HOME_PDL, *WEEK)).status == 403


async def test_requests_are_recorded_without_the_token(api: Api, emu: Emulator) -> None:
    token = api.token(HOME_PDL)
    await api.get(DAILY, HOME_PDL, *WEEK)
    await api.call(CURVE, {"prm": HOME_PDL}, token=token)
    emu.faults.push(Fault(429))
    await api.get(DAILY, HOME_PDL, *WEEK)
    assert [(r.type, r.status, r.method) for r in emu.requests] == [
        (DAILY, 200, "GET"),
        (CURVE, 400, "GET"),
        (DAILY, 429, "GET"),
    ]
    assert emu.requests[0].params == {
        "pointId": HOME_PDL,
        "dateDebut": WEEK[0].isoformat(),
        "dateFin": WEEK[1].isoformat(),
    }
    assert emu.requests[0].time == NOW
    assert token not in repr(emu.requests)
    emu.clear_requests()
    assert emu.requests == []
