"""HTTP control endpoints (`/_emulator/...`, JSON) for tests that run the emulator in another
process. They are neither logged, nor faulted, nor banned."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
import json
from typing import Any

from aiohttp import web

from .emulator import EMULATOR_KEY
from .faults import Fault
from .meters import Meter

_METER_FIELDS = {"consumption", "production", "load_curve_enabled", "holder", "consent"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError as err:
        raise _bad_request("the body must be JSON") from err
    if not isinstance(data, dict):
        raise _bad_request("the body must be a JSON object")
    return data


def _aware(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as err:
        raise _bad_request(f"{name} must be an ISO 8601 datetime") from err
    if parsed.tzinfo is None:
        raise _bad_request(f"{name} must carry a UTC offset")
    return parsed


def _guarded(handler: Handler) -> Handler:
    """Turn the handler's ValueError/KeyError/TypeError into a 400 JSON answer."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (ValueError, KeyError, TypeError) as err:
            raise _bad_request(f"{type(err).__name__}: {err}") from err

    return wrapper


@_guarded
async def get_truth(request: web.Request) -> web.Response:
    """Hourly Wh `{"<UTC ISO hour start>": wh}` of the published hours in [start, end)."""
    emu = request.app[EMULATOR_KEY]
    query = request.query
    pdl = query["pdl"]
    if pdl not in emu.meters:
        raise _bad_request(f"unknown pdl {pdl}")
    hourly = emu.truth.hourly_wh(
        pdl,
        query.get("production", "0") == "1",
        _aware(query["start"], "start"),
        _aware(query["end"], "end"),
    )
    return web.json_response({hour.isoformat(): wh for hour, wh in sorted(hourly.items())})


async def get_requests(request: web.Request) -> web.Response:
    """The logged `/api` requests, oldest first."""
    return web.json_response([record.to_json() for record in request.app[EMULATOR_KEY].requests])


async def delete_requests(request: web.Request) -> web.Response:
    """Forget the logged requests."""
    request.app[EMULATOR_KEY].clear_requests()
    return web.json_response({"cleared": True})


@_guarded
async def post_fault(request: web.Request) -> web.Response:
    """Queue a fault (`Fault` fields; `types` a list, `next_access_time` ISO)."""
    emu = request.app[EMULATOR_KEY]
    emu.faults.push(Fault.from_json(await _json_object(request)))
    return web.json_response({"queued": len(emu.faults)})


async def delete_faults(request: web.Request) -> web.Response:
    """Drop every queued fault."""
    request.app[EMULATOR_KEY].faults.clear()
    return web.json_response({"queued": 0})


@_guarded
async def post_ban_after(request: web.Request) -> web.Response:
    """`{"n": 3}`: ban after 3 more requests; `{"n": null}` lifts the ban."""
    n = (await _json_object(request))["n"]
    request.app[EMULATOR_KEY].ban_after(None if n is None else int(n))
    return web.json_response({"n": n})


@_guarded
async def post_token(request: web.Request) -> web.Response:
    """`{"prms": [...], "issued_at"?: ISO, "expires_at"?: ISO}` -> `{"token": ...}`."""
    data = await _json_object(request)
    prms = data["prms"]
    if not isinstance(prms, list) or not all(isinstance(prm, str) for prm in prms):
        raise _bad_request("prms must be a list of strings")
    issued = data.get("issued_at")
    expires = data.get("expires_at")
    token = request.app[EMULATOR_KEY].mint_token(
        prms,
        issued_at=None if issued is None else _aware(issued, "issued_at"),
        expires_at=None if expires is None else _aware(expires, "expires_at"),
    )
    return web.json_response({"token": token})


async def get_meters(request: web.Request) -> web.Response:
    """Every meter."""
    return web.json_response(
        [meter.to_json() for meter in request.app[EMULATOR_KEY].meters.values()]
    )


@_guarded
async def post_meter(request: web.Request) -> web.Response:
    """Update a meter (`consent`, `holder`, `load_curve_enabled`, `consumption`,
    `production`, `activation_date`), or create it (with `profile` too) if unknown."""
    emu = request.app[EMULATOR_KEY]
    pdl = request.match_info["pdl"]
    data = await _json_object(request)
    unknown = set(data) - _METER_FIELDS - {"activation_date", "profile"}
    if unknown:
        raise _bad_request(f"unknown meter fields {sorted(unknown)}")
    meter = emu.meters.get(pdl)
    if meter is None:
        meter = Meter(pdl, profile=data.get("profile", "heating"))
        emu.add_meter(meter)
    elif "profile" in data and data["profile"] != meter.profile:
        raise _bad_request("the profile of an existing meter cannot change")
    for name in _METER_FIELDS & set(data):
        if not isinstance(data[name], bool):
            raise _bad_request(f"{name} must be a boolean")
        setattr(meter, name, data[name])
    if "activation_date" in data:
        activation = data["activation_date"]
        meter.activation_date = None if activation is None else date.fromisoformat(activation)
    return web.json_response(meter.to_json())


async def get_clock(request: web.Request) -> web.Response:
    """The emulator's now."""
    return web.json_response({"now": request.app[EMULATOR_KEY].now().isoformat()})


@_guarded
async def post_clock(request: web.Request) -> web.Response:
    """`{"now": ISO, "frozen": true}`: fixed clock; `"frozen": false`: real time shifted."""
    data = await _json_object(request)
    emu = request.app[EMULATOR_KEY]
    emu.set_now(_aware(data["now"], "now"), frozen=bool(data.get("frozen", True)))
    return web.json_response({"now": emu.now().isoformat()})


ROUTES: list[web.RouteDef] = [
    web.get("/_emulator/truth", get_truth),
    web.get("/_emulator/requests", get_requests),
    web.delete("/_emulator/requests", delete_requests),
    web.post("/_emulator/faults", post_fault),
    web.delete("/_emulator/faults", delete_faults),
    web.post("/_emulator/ban_after", post_ban_after),
    web.post("/_emulator/token", post_token),
    web.get("/_emulator/meters", get_meters),
    web.post("/_emulator/meters/{pdl}", post_meter),
    web.get("/_emulator/clock", get_clock),
    web.post("/_emulator/clock", post_clock),
]
"""The control route table."""
