"""The emulated `/api/<type>` endpoint: Conso API's checks in Conso API's order, then the
Enedis rules, then the data from the ground truth."""

from __future__ import annotations

import asyncio
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, timedelta
import json
import re
import secrets

from aiohttp import web

from . import bodies
from .emulator import EMULATOR_KEY, Emulator, RequestRecord
from .faults import Fault
from .truth import paris_label

CURVE_MAX_DAYS = 7
CURVE_HISTORY_MONTHS = 24
DAILY_HISTORY_MONTHS = 36
HISTORY_GRACE_DAYS = 15
_CONSO_DATE = re.compile(r"20[0-9]{2}-[0-9]{2}-[0-9]{2}")  # not anchored, like Conso API's
_STRICT_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True, slots=True)
class MeasureSpec:
    """What one Conso API type serves."""

    kind: str
    """`energy` (daily Wh), `curve` (average W) or `max_power` (VA)."""
    production: bool
    legacy: bool
    """Legacy v5 body (`interval_reading`) rather than V2 (`grandeur[].points`)."""

    @property
    def is_curve(self) -> bool:
        """Load curves: 7-day windows, 24 months of history, hourly collection needed."""
        return self.kind == "curve"


TYPES: dict[str, MeasureSpec] = {
    "daily_consumption": MeasureSpec("energy", production=False, legacy=True),
    "consumption_load_curve": MeasureSpec("curve", production=False, legacy=True),
    "consumption_max_power": MeasureSpec("max_power", production=False, legacy=True),
    "daily_production": MeasureSpec("energy", production=True, legacy=True),
    "production_load_curve": MeasureSpec("curve", production=True, legacy=True),
    "consommation_quotidienne": MeasureSpec("energy", production=False, legacy=False),
    "courbe_de_charge_consommation": MeasureSpec("curve", production=False, legacy=False),
    "puissance_conso_max_quotidienne": MeasureSpec("max_power", production=False, legacy=False),
    "production_quotidienne": MeasureSpec("energy", production=True, legacy=False),
    "courbe_de_charge_production": MeasureSpec("curve", production=True, legacy=False),
}
"""Served types, in the order of Conso API's `z.enum` (legacy names first)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer: a JSON body, a text body, or no body."""

    status: int
    json: object = None
    text: str | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def to_response(self) -> web.Response:
        """The aiohttp response (compact UTF-8 JSON, like `Response.json` in Workers)."""
        if self.text is not None:
            body = self.text.encode()
        elif self.json is not None:
            body = json.dumps(self.json, ensure_ascii=False, separators=(",", ":")).encode()
        else:
            return web.Response(status=self.status, headers=self.headers)
        return web.Response(
            status=self.status, body=body, content_type=self.content_type, headers=self.headers
        )


def _enedis(status: int, error: tuple[str, str]) -> Reply:
    return Reply(status, bodies.enedis_error(status, error))


def _ray_id() -> str:
    return secrets.token_hex(8)


def ban_reply(status: int = 403) -> Reply:
    """Cloudflare's HTML ban page."""
    return Reply(
        status,
        text=bodies.BAN_PAGE,
        content_type="text/html",
        headers={"Server": "cloudflare", "CF-RAY": f"{_ray_id()}-CDG"},
    )


def fault_reply(emu: Emulator, fault: Fault) -> Reply:
    """The answer a (non-`slow`) fault stands for."""
    status = fault.status
    match fault.resolved_kind:
        case "rate_limited":
            next_access = fault.next_access_time or (emu.now() + timedelta(hours=1)).replace(
                minute=0, second=0, microsecond=0
            )
            return Reply(status, bodies.quota_error(status, next_access))
        case "rate_limited_fault":
            return Reply(status, bodies.quota_fault_error(status))
        case "technical_error":
            return _enedis(status, bodies.TECHNICAL_ERROR)
        case "token_refresh":
            return Reply(status, bodies.conso_error(status, bodies.TOKEN_REFRESH_FAILED))
        case "unknown_error":
            return Reply(status, bodies.conso_error(status, bodies.UNKNOWN_ERROR))
        case "plain_text_500":
            return Reply(status, bodies.enedis_error(status, "500 Internal Server Error"))
        case "bad_gateway":
            return Reply(status, bodies.bad_gateway(_ray_id()), headers={"Server": "cloudflare"})
        case _:
            return ban_reply(status)


def months_before(day: date, months: int) -> date:
    """Same day `months` earlier (clamped to the month's last day)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month0 + 1, min(day.day, monthrange(year, month0 + 1)[1]))


def history_deadline(today: date, curve: bool) -> date:
    """Earliest dateDebut Enedis accepts: 24 (curves) or 36 months + 15 days back."""
    months = CURVE_HISTORY_MONTHS if curve else DAILY_HISTORY_MONTHS
    return months_before(today, months) - timedelta(days=HISTORY_GRACE_DAYS)


def _validate_parameters(
    measure_type: str, prm: str | None, start: str | None, end: str | None
) -> list[bodies.ZodIssue]:
    """Conso API's zod schema: type enum, 14-character PRM, dates matching a loose regex."""
    issues = []
    if measure_type not in TYPES:
        issues.append(bodies.ZodIssue.enum("type", measure_type, list(TYPES)))
    if prm is None:
        issues.append(bodies.ZodIssue.required("pointId"))
    elif len(prm) != 14:
        issues.append(bodies.ZodIssue.length("pointId", prm, 14))
    for path, value in (("dateDebut", start), ("dateFin", end)):
        if value is None:
            issues.append(bodies.ZodIssue.required(path))
        elif not _CONSO_DATE.search(value):
            issues.append(bodies.ZodIssue.regex(path))
    return issues


def _parse_date(value: str) -> date | None:
    if not _STRICT_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _data_reply(
    emu: Emulator, spec: MeasureSpec, prm: str, *, start: date, end: date, echo: tuple[str, str]
) -> Reply:
    """The measurement body for the published days of [start, end), or 404."""
    points: list[tuple[int, str, int | None]] = []
    for offset in range((end - start).days):
        day = start + timedelta(days=offset)
        truth = emu.truth.published_day(prm, spec.production, day)
        if truth is None:
            continue
        if spec.kind == "energy":
            points.append((sum(truth.slots(spec.production)), day.isoformat(), None))
        elif spec.kind == "curve":
            points.extend(
                (watts, paris_label(end_instant), truth.step_minutes)
                for end_instant, watts in truth.curve(spec.production)
            )
        else:
            points.append((truth.max_power_va, paris_label(truth.max_power_at), None))
    if not points:
        return _enedis(404, bodies.NO_DATA)
    if spec.legacy:
        readings = [bodies.legacy_reading(*point) for point in points]
        return Reply(200, bodies.legacy(prm, *echo, spec.kind, readings))
    v2_points = [bodies.v2_point(*point) for point in points]
    if spec.kind == "energy":
        return Reply(200, bodies.v2_daily(prm, *echo, spec.production, v2_points))
    if spec.kind == "curve":
        return Reply(200, bodies.v2_curve(prm, *echo, spec.production, v2_points))
    return Reply(200, bodies.v2_max_power(prm, *echo, v2_points))


def answer_measure(
    emu: Emulator, method: str, measure_type: str, params: dict[str, str], authorization: str | None
) -> Reply:
    """Conso API's handler, then Enedis's rules, for one request (faults already applied)."""
    if method == "OPTIONS":
        return Reply(200)
    if method != "GET":
        return Reply(405, bodies.conso_error(405, bodies.METHOD_NOT_ALLOWED))
    prm = params.get("pointId", params.get("prm"))
    start_text = params.get("dateDebut", params.get("start"))
    end_text = params.get("dateFin", params.get("end"))
    issues = _validate_parameters(measure_type, prm, start_text, end_text)
    if issues:
        return Reply(400, bodies.zod_error(issues))
    assert prm is not None
    assert start_text is not None
    assert end_text is not None
    parts = (authorization or "").split(" ")
    token = parts[1] if len(parts) > 1 else ""
    if not token:
        return Reply(400, bodies.conso_error(400, bodies.MISSING_AUTHORIZATION))
    if not emu.token_is_valid(token, prm):
        return Reply(401, bodies.conso_error(401, bodies.INVALID_TOKEN))
    return _enedis_answer(emu, TYPES[measure_type], prm, start_text, end_text)


def _enedis_answer(
    emu: Emulator, spec: MeasureSpec, prm: str, start_text: str, end_text: str
) -> Reply:
    """What Enedis answers once Conso API has accepted the request."""
    start, end = _parse_date(start_text), _parse_date(end_text)
    if start is None or end is None:
        return _enedis(400, bodies.BAD_DATE_FORMAT)
    today = emu.today()
    if start >= end:
        return _enedis(400, bodies.START_AFTER_END)
    if end > today:
        return _enedis(400, bodies.END_IN_FUTURE)
    if spec.is_curve and (end - start).days > CURVE_MAX_DAYS:
        return _enedis(400, bodies.CURVE_SPAN)
    if start < history_deadline(today, spec.is_curve):
        return _enedis(400, bodies.BEFORE_HISTORY)
    meter = emu.meters.get(prm)
    if meter is None:
        return _enedis(403, bodies.NO_CONSENT)
    if meter.activation_date is not None and start < meter.activation_date:
        return _enedis(400, bodies.BEFORE_ACTIVATION)
    if not meter.consent:
        return _enedis(403, bodies.NO_CONSENT)
    if not meter.holder:
        return _enedis(400, bodies.NOT_HOLDER)
    if not emu.truth.measures(prm, spec.production):
        return _enedis(403, bodies.NO_CONSENT)
    if spec.is_curve and not meter.load_curve_enabled:
        return _enedis(404, bodies.NO_DATA)
    return _data_reply(emu, spec, prm, start=start, end=end, echo=(start_text, end_text))


async def answer(
    emu: Emulator, method: str, measure_type: str, params: dict[str, str], authorization: str | None
) -> Reply:
    """One request to `/api/<type>`: ban, then scripted faults, then the normal answer; the
    request is logged (without the token). Shared by the HTTP server and `EmulatorSession`."""
    received = emu.now()
    reply = await _answer(emu, method, measure_type, params, authorization)
    emu.record(RequestRecord(received, method, measure_type, params, reply.status))
    return reply


async def handle_api(request: web.Request) -> web.Response:
    """`/api/<type>` over HTTP (see `answer`)."""
    params = {key: request.query.getone(key) for key in request.query}
    reply = await answer(
        request.app[EMULATOR_KEY],
        request.method,
        request.match_info["type"],
        params,
        request.headers.get("Authorization"),
    )
    return reply.to_response()


async def _answer(
    emu: Emulator, method: str, measure_type: str, params: dict[str, str], authorization: str | None
) -> Reply:
    if emu.count_request_for_ban():
        return ban_reply()
    fault = emu.faults.take(measure_type)
    if fault is not None:
        if fault.delay > 0:
            await asyncio.sleep(fault.delay)
        if fault.resolved_kind != "slow":
            return fault_reply(emu, fault)
    return answer_measure(emu, method, measure_type, params, authorization)


ROUTES: list[web.RouteDef] = [web.route("*", "/api/{type}", handle_api)]
"""The API's route table."""
