"""Diagnostics of a Linky entry: what is stored, what is scheduled, the request budget.

The token and the meter numbers (PDL) never appear: secret keys are redacted, and every
string that contains a PDL (entry title, statistic ids, error messages) is masked.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_PDL, CONF_PRODUCTION_PDL, CONF_TOKEN
from .energy.ledger import Resolution
from .runtime import LinkyConfigEntry
from .statistics import statistic_id
from .sync.state import SeriesState, SyncState

TO_REDACT = {CONF_TOKEN, CONF_PDL, CONF_PRODUCTION_PDL, "title", "unique_id"}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _series_summary(state: SeriesState) -> dict[str, Any]:
    """What is stored for one series, without the per-day values."""
    ledger = state.ledger
    resolutions: dict[str, int] = {}
    if ledger.first_day is not None and ledger.last_day is not None:
        end = date.fromordinal(ledger.last_day.toordinal() + 1)
        resolutions = {
            resolution.value: len(ledger.days_with_resolution(resolution, ledger.first_day, end))
            for resolution in Resolution
        }
    return {
        "stored_days": len(ledger),
        "first_day": _iso(ledger.first_day),
        "last_day": _iso(ledger.last_day),
        "resolutions": resolutions,
        "total_kwh": round(ledger.total_wh / 1000, 3),
        "daily_imported": state.daily_imported,
        "curve_available": state.curve_available,
        "floor": _iso(state.floor),
        "floor_found_on": _iso(state.floor_on),
        "curve_floor": _iso(state.curve_floor),
        "curve_floor_found_on": _iso(state.curve_floor_on),
        "given_up": len(state.given_up),
        "days_with_bad_points": len(state.bad_points),
        "attempts": {day.isoformat(): count for day, count in sorted(state.attempts.items())},
        "adoption": state.adoption.as_dict() if state.adoption else None,
    }


def _mask(value: Any, secrets: set[str]) -> Any:
    """Replace every occurrence of a secret inside strings, keys included."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {_mask(key, secrets): _mask(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, secrets) for item in value]
    return value


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: LinkyConfigEntry
) -> dict[str, Any]:
    """Diagnostics of one meter (token and PDLs redacted)."""
    runtime = entry.runtime_data
    coordinator = runtime.coordinator
    sync = coordinator.sync
    state = sync.state if sync is not None else SyncState()
    options = coordinator.options
    budget = coordinator.api.budget
    banned_at = coordinator.api.banned_at
    token = coordinator.token
    data = coordinator.data
    diagnostics: dict[str, Any] = {
        "entry": {
            "title": entry.title,
            "unique_id": entry.unique_id,
            "data": dict(entry.data),
            "options": dict(entry.options),
        },
        "consent": {
            "issued_at": token.issued_at,
            "expires_at": token.expires_at,
            "meters": len(token.prms),
        },
        "options": {
            "series": list(options.series),
            "separate_production_meter": options.production_pdl not in (None, options.pdl),
            "daily_history_months": options.daily_history_months,
            "hourly_history_months": options.hourly_history_months,
        },
        "sync": {
            "statistic_ids": [statistic_id(options.pdl, series) for series in options.series],
            "series": {name: _series_summary(series) for name, series in state.series.items()},
            "max_power_days": len(state.max_power),
            "last_attempt": state.last_attempt,
            "last_success": state.last_success,
            "last_error": state.last_error.as_dict() if state.last_error else None,
            "failures_in_a_row": state.failures,
            "backfill_pending": sync.backfill_pending() if sync is not None else None,
            "backfill_progress": data.backfill_progress,
            "stale": data.stale,
        },
        "schedule": {**state.schedule.as_dict(), "next_run": coordinator.next_run},
        "parts": {
            "tempo": runtime.tempo is not None,
            "load_shedding": runtime.shedding is not None,
            "derived": [part.key for part in runtime.derived],
            "derived_state": {
                part.key: shown
                for part in runtime.derived
                if (shown := part.diagnostics()) is not None
            },
            "options_problems": list(runtime.options.problems),
        },
        "service": {
            "used": budget.used,
            "remaining": budget.remaining,
            "cap": budget.cap,
            "blocked_until": budget.blocked_until,
            "banned": banned_at is not None,
            "banned_at": banned_at,
            "fleet": data.fleet.as_dict(),
        },
    }
    secrets = {pdl for pdl in (options.pdl, options.production_pdl) if pdl}
    redacted: dict[str, Any] = _mask(async_redact_data(diagnostics, TO_REDACT), secrets)
    return redacted
