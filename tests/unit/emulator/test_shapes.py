"""Emulated bodies have the real bodies' shape: same keys, same key order, same value types,
same constant values (tests/fixtures/real)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from conso_emulator import HOME_PDL, PV_PDL

from .helpers import Api, fixture, ordered

DAY = date(2026, 11, 3)
END = date(2026, 11, 5)

_VARIABLE = {"idPrm", "periode", "points", "usage_point_id", "start", "end", "interval_reading"}


def shape(value: Any) -> Any:
    """Keys in order and value types, recursively (lists: every item's shape, deduplicated)."""
    if isinstance(value, dict):
        return [(key, shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        shapes: list[Any] = []
        for item in value:
            if shape(item) not in shapes:
                shapes.append(shape(item))
        return shapes
    return type(value).__name__


def constants(value: Any) -> Any:
    """The body without the values that depend on the request (PRM, dates, points)."""
    if isinstance(value, dict):
        return {key: constants(item) for key, item in value.items() if key not in _VARIABLE}
    if isinstance(value, list):
        return [constants(item) for item in value]
    return value


V2_CASES = [
    ("consommation_quotidienne", HOME_PDL, "v2/mesure_consommation_quotidienne.json"),
    ("courbe_de_charge_consommation", HOME_PDL, "v2/mesure_courbe_de_charge_consommation.json"),
    ("puissance_conso_max_quotidienne", HOME_PDL, "v2/mesure_puissance_conso_max_quotidienne.json"),
    ("production_quotidienne", PV_PDL, "v2/mesure_production_quotidienne.json"),
    ("courbe_de_charge_production", PV_PDL, "v2/mesure_courbe_de_charge_production.json"),
]
LEGACY_CASES = [
    ("daily_consumption", HOME_PDL, "legacy/conso_daily_consumption_2023-04-01_2023-04-04.json"),
    (
        "consumption_load_curve",
        HOME_PDL,
        "legacy/conso_consumption_load_curve_2023-04-01_2023-04-02.json",
    ),
    (
        "consumption_max_power",
        HOME_PDL,
        "legacy/conso_consumption_max_power_2023-04-01_2023-04-04.json",
    ),
    ("daily_production", PV_PDL, "legacy/conso_daily_production_2023-04-01_2023-04-04.json"),
    (
        "production_load_curve",
        PV_PDL,
        "legacy/conso_production_load_curve_2023-04-01_2023-04-02.json",
    ),
]


@pytest.mark.parametrize(("measure_type", "pdl", "path"), V2_CASES + LEGACY_CASES)
async def test_body_shape_matches_the_real_body(
    api: Api, measure_type: str, pdl: str, path: str
) -> None:
    real = fixture(path)
    reply = await api.get(measure_type, pdl, DAY, END)
    assert reply.status == 200
    assert reply.content_type == "application/json"
    assert shape(reply.body) == shape(real)
    assert ordered(constants(reply.body)) == ordered(constants(real))


@pytest.mark.parametrize(("measure_type", "pdl", "path"), V2_CASES)
async def test_v2_body_echoes_the_request(api: Api, measure_type: str, pdl: str, path: str) -> None:
    reply = await api.get(measure_type, pdl, DAY, END)
    assert reply.body["idPrm"] == pdl
    assert reply.body["periode"] == {"dateDebut": "2026-11-03", "dateFin": "2026-11-05"}


@pytest.mark.parametrize(("measure_type", "pdl", "path"), LEGACY_CASES)
async def test_legacy_body_echoes_the_request(
    api: Api, measure_type: str, pdl: str, path: str
) -> None:
    reply = await api.get(measure_type, pdl, DAY, END)
    assert list(reply.body)[:3] == ["usage_point_id", "start", "end"]
    assert (reply.body["usage_point_id"], reply.body["start"], reply.body["end"]) == (
        pdl,
        "2026-11-03",
        "2026-11-05",
    )


async def test_daily_points_are_the_requested_days(api: Api) -> None:
    v2 = await api.get("consommation_quotidienne", HOME_PDL, DAY, END)
    legacy = await api.get("daily_consumption", HOME_PDL, DAY, END)
    assert [point["d"] for point in v2.body["grandeur"][0]["points"]] == [
        "2026-11-03",
        "2026-11-04",
    ]
    assert [point["date"] for point in legacy.body["interval_reading"]] == [
        "2026-11-03",
        "2026-11-04",
    ]
    assert [p["v"] for p in v2.body["grandeur"][0]["points"]] == [
        r["value"] for r in legacy.body["interval_reading"]
    ]


async def test_json_is_compact_utf8_like_workers_response_json(api: Api) -> None:
    reply = await api.call("consommation_quotidienne", {"pointId": "1"}, token="x")
    assert reply.text.startswith('{"status":400,"message":"Paramètres invalides"')
