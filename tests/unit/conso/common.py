"""Helpers shared by the Conso API client tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
import json
from pathlib import Path
from typing import Any

from custom_components.linky.localtime import PARIS

REAL_FIXTURES = Path(__file__).parents[2] / "fixtures" / "real"


def load_json(relative: str) -> Any:
    """A real recorded body from tests/fixtures/real/."""
    return json.loads((REAL_FIXTURES / relative).read_text(encoding="utf-8"))


def local_labels(day: date, minutes: int) -> list[str]:
    """Interval-END labels of one local day, as Enedis writes them (naive Paris time).

    Built from real instants, so DST days get 46/50 half-hours and repeated labels.
    """
    start = datetime.combine(day, datetime.min.time(), tzinfo=PARIS).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=PARIS)
    labels = []
    instant = start + timedelta(minutes=minutes)
    while instant <= end.astimezone(UTC):
        labels.append(instant.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S"))
        instant += timedelta(minutes=minutes)
    return labels


def v2_curve(labels: list[str], values: list[int], step: str = "PT30M") -> dict[str, Any]:
    """A V2 load-curve body."""
    points = [
        {"v": str(value), "d": label, "p": step, "n": "B", "iv": "0", "ec": "0"}
        for label, value in zip(labels, values, strict=True)
    ]
    return {
        "idPrm": "99999999999991",
        "modeCalcul": "MESURE",
        "grandeur": [
            {"grandeurMetier": "CONS", "grandeurPhysique": "PA", "unite": "W", "points": points}
        ],
    }


def legacy_curve(labels: list[str], values: list[int], step: str = "PT30M") -> dict[str, Any]:
    """A legacy (Conso API v5 unwrapped) load-curve body."""
    return {
        "usage_point_id": "11111111111111",
        "reading_type": {"unit": "W", "measurement_kind": "power", "aggregate": "average"},
        "interval_reading": [
            {"value": str(value), "date": label, "interval_length": step, "measure_type": "B"}
            for label, value in zip(labels, values, strict=True)
        ],
    }
