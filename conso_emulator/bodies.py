"""Response bodies, shaped exactly like the real ones (`tests/fixtures/real/`): same keys, same
key order, values as strings. Error texts are the real ones, byte for byte."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

JsonObject = dict[str, Any]

# Conso API's own errors (functions/api/[type].ts).
METHOD_NOT_ALLOWED = "Seule la méthode GET est autorisée"
INVALID_PARAMETERS = "Paramètres invalides"
MISSING_AUTHORIZATION = "Le header 'Authorization' est manquant ou invalide"
INVALID_TOKEN = "Votre token est invalide ou ne permet pas d'accéder à ce PRM"  # noqa: S105
TOKEN_REFRESH_FAILED = "Impossible de rafraîchir le token. Réessayez plus tard"  # noqa: S105
UNKNOWN_ERROR = "Erreur inconnue. Réessayez plus tard"
ENEDIS_ERROR = "The Enedis API returned an error"

# Enedis errors: (code, description).
START_AFTER_END = ("Invalid_request", "Start date should be before end date.")
END_IN_FUTURE = ("Invalid_request", "The end date parameter must be earlier than the current date")
BAD_DATE_FORMAT = ("Invalid_request", "The date format is invalid.")
"""Emulator choice: no real body is on record for a date that passes Conso API's loose regex
but is not a valid YYYY-MM-DD."""
BEFORE_ACTIVATION = (
    "ADAM-ERR0123",
    "The requested period cannot be anterior to the meter's last activation date",
)
BEFORE_HISTORY = ("ADAM-ERR0125", "The start date must be greater than the history deadline.")
CURVE_SPAN = (
    "ADAM-ERR0126",
    "The requested period must be less than 7 days for an access to the load curve",
)
NOT_HOLDER = ("ADAM-DC-0007", "Le client n'est pas titulaire du point demandé.")
NO_CONSENT = (
    "ADAM-DC-0008",
    "No consent can be found for this customer and this usage point.",
)
NO_DATA = ("no_data_found", "no measure found for this usage point")
TECHNICAL_ERROR = ("technical_error", "Technical error. Please try later.")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

BAN_PAGE = (Path(__file__).parent / "data" / "cloudflare_403_blocked.html").read_text("utf-8")
"""Cloudflare's "Sorry, you have been blocked" page (the recorded beginning, then the
documented visible text)."""


def conso_error(status: int, message: str) -> JsonObject:
    """An error produced by Conso API itself: `{status, message}`."""
    return {"status": status, "message": message}


def enedis_error(status: int, error: tuple[str, str] | JsonObject | str) -> JsonObject:
    """An Enedis error passed through by Conso API: `{status, message, error}`."""
    if isinstance(error, tuple):
        code, description = error
        error = {"error": code, "error_description": description}
    return {"status": status, "message": ENEDIS_ERROR, "error": error}


def next_access_label(instant: datetime) -> str:
    """The API gateway's `nextAccessTime` format, e.g. `2026-Jul-17 05:00:00+0000 UTC`."""
    utc = instant.astimezone(UTC)
    return f"{utc.year}-{_MONTHS[utc.month - 1]}-{utc:%d %H:%M:%S}+0000 UTC"


def quota_error(status: int, next_access: datetime) -> JsonObject:
    """429 `900804` with `nextAccessTime` (shared Enedis quota exhausted)."""
    label = next_access_label(next_access)
    return enedis_error(
        status,
        {
            "code": "900804",
            "message": "Message throttled out",
            "description": f"You have exceeded your quota .You can access API after {label}",
            "nextAccessTime": label,
        },
    )


def quota_fault_error(status: int) -> JsonObject:
    """429 `900807` in the gateway's `fault` shape, without `nextAccessTime`."""
    return enedis_error(
        status,
        {
            "fault": {
                "code": 900807,
                "message": "Message throttled out",
                "description": "You have exceeded your quota",
            }
        },
    )


def bad_gateway(ray_id: str) -> JsonObject:
    """Cloudflare's 502 problem document (bokub/ha-linky#190)."""
    return {
        "type": "https://developers.cloudflare.com/support/troubleshooting/http-status-codes/"
        "cloudflare-5xx-errors/error-502/",
        "title": "Error 502: Bad gateway",
        "status": 502,
        "detail": "The origin web server returned an invalid or incomplete response to "
        "Cloudflare. This typically indicates the origin is overloaded or misconfigured.",
        "instance": ray_id,
        "error_code": 502,
        "error_name": "origin_bad_gateway",
        "error_category": "origin",
        "ray_id": ray_id,
    }


@dataclass(frozen=True, slots=True)
class ZodIssue:
    """One zod 3.20 issue; `fields` keeps zod's key order (path and message are placed as zod
    places them)."""

    fields: JsonObject

    @classmethod
    def required(cls, path: str, received: str = "null") -> ZodIssue:
        """`searchParams.get()` gave null (parameter absent)."""
        return cls(
            {
                "code": "invalid_type",
                "expected": "string",
                "received": received,
                "path": [path],
                "message": f"Expected string, received {received}",
            }
        )

    @classmethod
    def length(cls, path: str, value: str, length: int) -> ZodIssue:
        """`z.string().length(n)` failed."""
        too_small = len(value) < length
        return cls(
            {
                "code": "too_small" if too_small else "too_big",
                "minimum" if too_small else "maximum": length,
                "type": "string",
                "inclusive": True,
                "exact": True,
                "message": f"String must contain exactly {length} character(s)",
                "path": [path],
            }
        )

    @classmethod
    def regex(cls, path: str) -> ZodIssue:
        """`z.string().regex(...)` failed."""
        return cls(
            {"validation": "regex", "code": "invalid_string", "message": "Invalid", "path": [path]}
        )

    @classmethod
    def enum(cls, path: str, value: str | None, options: Sequence[str]) -> ZodIssue:
        """`z.enum(...)` failed."""
        expected = " | ".join(f"'{option}'" for option in options)
        return cls(
            {
                "received": value,
                "code": "invalid_enum_value",
                "options": list(options),
                "path": [path],
                "message": f"Invalid enum value. Expected {expected}, received '{value}'",
            }
        )


def zod_error(issues: Sequence[ZodIssue]) -> JsonObject:
    """400 "Paramètres invalides" with the serialized ZodError."""
    return {
        "status": 400,
        "message": INVALID_PARAMETERS,
        "error": {"issues": [issue.fields for issue in issues], "name": "ZodError"},
    }


# Successful bodies. V2 = Enedis "mesure synchrone V2" passed through; legacy = v5
# `meter_reading` unwrapped by Conso API.


def _direction(production: bool) -> str:
    return "PROD" if production else "CONS"


def v2_daily(
    prm: str, start: str, end: str, production: bool, points: list[JsonObject]
) -> JsonObject:
    """`consommation_quotidienne` / `production_quotidienne`; points `{v, d}`."""
    return {
        "idPrm": prm,
        "etapeMetier": "BRUT",
        "periode": {"dateDebut": start, "dateFin": end},
        "typeValeur": "GLOBALE",
        "modeCalcul": "DIFF.INDEX",
        "pas": "P1D",
        "grandeur": [
            {
                "grandeurMetier": _direction(production),
                "grandeurPhysique": "EA",
                "unite": "Wh",
                "points": points,
                "calendrier": [],
            }
        ],
        "contexte": [],
    }


def v2_curve(
    prm: str, start: str, end: str, production: bool, points: list[JsonObject]
) -> JsonObject:
    """`courbe_de_charge_*`; points `{v, d, p, n, iv, ec}`, no top-level `pas`."""
    return {
        "idPrm": prm,
        "etapeMetier": "BRUT",
        "periode": {"dateDebut": start, "dateFin": end},
        "modeCalcul": "MESURE",
        "grandeur": [
            {
                "grandeurMetier": _direction(production),
                "grandeurPhysique": "PA",
                "unite": "W",
                "points": points,
                "calendrier": [],
            }
        ],
        "contexte": [],
    }


def v2_max_power(prm: str, start: str, end: str, points: list[JsonObject]) -> JsonObject:
    """`puissance_conso_max_quotidienne`; points `{v, d}` with `d` the time of the max."""
    return {
        "idPrm": prm,
        "etapeMetier": "BRUT",
        "periode": {"dateDebut": start, "dateFin": end},
        "modeCalcul": "MESURE",
        "pas": "P1D",
        "grandeur": [
            {
                "grandeurMetier": "CONS",
                "grandeurPhysique": "PMA",
                "unite": "VA",
                "points": points,
                "calendrier": [],
            }
        ],
        "contexte": [],
    }


def v2_point(value: int, label: str, step_minutes: int | None = None) -> JsonObject:
    """One V2 point; load-curve points carry the step and the B/0/0 flags."""
    if step_minutes is None:
        return {"v": str(value), "d": label}
    return {"v": str(value), "d": label, "p": f"PT{step_minutes}M", "n": "B", "iv": "0", "ec": "0"}


_LEGACY_READING_TYPES: dict[str, JsonObject] = {
    "energy": {
        "unit": "Wh",
        "measurement_kind": "energy",
        "aggregate": "sum",
        "measuring_period": "P1D",
    },
    "curve": {"unit": "W", "measurement_kind": "power", "aggregate": "average"},
    "max_power": {
        "unit": "VA",
        "measurement_kind": "power",
        "aggregate": "maximum",
        "measuring_period": "P1D",
    },
}


def legacy(prm: str, start: str, end: str, kind: str, readings: list[JsonObject]) -> JsonObject:
    """A legacy body; `kind` is `energy`, `curve` or `max_power`."""
    return {
        "usage_point_id": prm,
        "start": start,
        "end": end,
        "quality": "BRUT",
        "reading_type": dict(_LEGACY_READING_TYPES[kind]),
        "interval_reading": readings,
    }


def legacy_reading(value: int, label: str, step_minutes: int | None = None) -> JsonObject:
    """One legacy `interval_reading` item."""
    if step_minutes is None:
        return {"value": str(value), "date": label}
    return {
        "value": str(value),
        "date": label,
        "interval_length": f"PT{step_minutes}M",
        "measure_type": "B",
    }
