"""Adopt the statistics another Linky tool wrote for the meter, and switch the Energy
dashboard to this integration's series (`linky.adopt_history`, the `adopt_history` repair).

The maths (which days, their energy) is `energy/adopt.py`; the days go through the meter
coordinator like any import (`LinkyCoordinator.async_import_days`), so the sums stay one
exact chain and the days are never asked from the API. Nothing here deletes the source
series. An adoption can be undone until it is confirmed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.components.recorder.statistics import (
    async_list_statistic_ids,
    get_metadata,
    statistics_during_period,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, SERIES_CONSUMPTION, SERIES_PRODUCTION
from ..energy.adopt import AdoptionPlan, AdoptionUnitError, SourceRows, plan_adoption
from ..localtime import local_date
from ..repairs import async_set_adoption_offer
from ..statistics import statistic_id

if TYPE_CHECKING:
    from ..sync.model import SyncOptions
    from . import LinkyConfigEntry

KNOWN_SOURCES: dict[str, str] = {
    SERIES_CONSUMPTION: "linky:{pdl}",  # the ha-linky add-on and its Python port
    SERIES_PRODUCTION: "linky_prod:{pdl}",
}
"""The series another Linky tool writes for a meter, found without being named."""
MODE_PREVIEW = "preview"
MODE_ADOPT = "adopt"
MODE_CONFIRM = "confirm"
MODE_UNDO = "undo"
MODES = (MODE_PREVIEW, MODE_ADOPT, MODE_CONFIRM, MODE_UNDO)


@dataclass(frozen=True, slots=True)
class SeriesPreview:
    """What adopting some sources would do to one series."""

    series: str
    sources: list[str]
    plan: AdoptionPlan

    def as_dict(self, target: str) -> dict[str, Any]:
        """Response data (`target`: the meter's own statistic id)."""
        plan = self.plan
        return {
            "series": self.series,
            "statistic_id": target,
            "sources": self.sources,
            "days": len(plan.days),
            "hourly_days": sum(1 for data in plan.days if len(data.hours) > 1),
            "first_day": plan.first_day.isoformat() if plan.first_day else None,
            "last_day": plan.last_day.isoformat() if plan.last_day else None,
            "kwh": round(plan.total_wh / 1000, 3),
            "before": plan.before.isoformat() if plan.before else None,
            "skipped": {reason: len(days) for reason, days in plan.skipped.items()},
            "overlap_days": plan.overlap_days,
            "overlap_ratio": round(plan.overlap_ratio, 4) if plan.overlap_ratio else None,
        }


def known_sources(options: SyncOptions, series: Iterable[str]) -> dict[str, str]:
    """The statistic id another Linky tool would use for each of `series`: the add-on names
    a series after the PRM it reads, so production is `linky_prod:<production PRM>` when
    it comes from a separate production meter."""
    return {
        name: KNOWN_SOURCES[name].format(pdl=options.pdl_of(name))
        for name in series
        if name in KNOWN_SOURCES
    }


async def async_found_sources(hass: HomeAssistant, entry: LinkyConfigEntry) -> dict[str, str]:
    """The known series of another tool that exist in the recorder for the entry's meter."""
    coordinator = entry.runtime_data.coordinator
    wanted = known_sources(coordinator.options, coordinator.options.series)
    if not wanted:
        return {}
    found = await async_list_statistic_ids(hass, set(wanted.values()))
    existing = {row["statistic_id"] for row in found}
    return {series: stat_id for series, stat_id in wanted.items() if stat_id in existing}


async def async_offer_adoption(hass: HomeAssistant, entry: LinkyConfigEntry) -> None:
    """At set-up: offer (a fixable repair issue) to adopt the known series of another tool
    found for the meter, unless they were adopted already."""
    coordinator = entry.runtime_data.coordinator
    sync = coordinator.sync
    assert sync is not None
    found = await async_found_sources(hass, entry)
    pending = [
        stat_id
        for series, stat_id in found.items()
        if sync.state.series_state(series).adoption is None
    ]
    async_set_adoption_offer(hass, entry, coordinator.pdl, pending)


def _read_source(hass: HomeAssistant, stat_id: str) -> SourceRows | None:
    """A source's unit and rows `(start, sum)` (recorder executor); None when absent."""
    metadata = get_metadata(hass, statistic_ids={stat_id})
    if stat_id not in metadata:
        return None
    stats = statistics_during_period(
        hass, dt_util.utc_from_timestamp(0), None, {stat_id}, "hour", None, {"sum"}
    )
    rows = [
        (dt_util.utc_from_timestamp(row["start"]), float(value))
        for row in stats.get(stat_id, [])
        if isinstance(value := row.get("sum"), int | float)
    ]
    return SourceRows(stat_id, metadata[stat_id][1]["unit_of_measurement"], rows)


async def async_preview(
    hass: HomeAssistant, entry: LinkyConfigEntry, sources: dict[str, list[str]]
) -> list[SeriesPreview]:
    """What adopting `sources` (statistic ids per series) would write; raises
    ServiceValidationError for a source that is missing, ours, or not in an energy unit."""
    coordinator = entry.runtime_data.coordinator
    sync = coordinator.sync
    assert sync is not None
    previews = []
    for series, stat_ids in sources.items():
        if series not in coordinator.options.series:
            raise validation_error("adopt_series_unknown", series=series)
        rows = []
        for stat_id in stat_ids:
            if stat_id.startswith(f"{DOMAIN}:{coordinator.pdl}_"):
                raise validation_error("adopt_source_own", source=stat_id)
            source = await get_instance(hass).async_add_executor_job(_read_source, hass, stat_id)
            if source is None:
                raise validation_error("adopt_source_missing", source=stat_id)
            rows.append(source)
        ledger = sync.state.series_state(series).ledger
        today = local_date(dt_util.utcnow())
        try:
            plan = await hass.async_add_executor_job(
                plan_adoption, rows, ledger, today, sync.planner.keep_from
            )
        except AdoptionUnitError as err:
            raise validation_error(
                "adopt_source_unit", source=err.statistic_id, unit=str(err.unit)
            ) from err
        previews.append(SeriesPreview(series, stat_ids, plan))
    return previews


async def async_adopt(
    hass: HomeAssistant, entry: LinkyConfigEntry, previews: list[SeriesPreview]
) -> dict[str, int]:
    """Write the previewed days (days written per series). Running it again writes
    nothing: those days are stored."""
    coordinator = entry.runtime_data.coordinator
    written: dict[str, int] = {}
    for preview in previews:
        plan = preview.plan
        if not plan.days:
            written[preview.series] = 0
            continue
        assert plan.last_day is not None
        until = plan.before or plan.last_day + timedelta(days=1)
        days = await coordinator.async_import_days(
            preview.series, plan.days, (preview.sources, until)
        )
        written[preview.series] = len(days)
    return written


def adoption_status(entry: LinkyConfigEntry) -> dict[str, Any]:
    """The adoption of each series, as response data."""
    sync = entry.runtime_data.coordinator.sync
    assert sync is not None
    status: dict[str, Any] = {}
    for series in entry.runtime_data.coordinator.options.series:
        adoption = sync.state.series_state(series).adoption
        if adoption is not None:
            status[series] = {
                "sources": adoption.sources,
                "before": adoption.until.isoformat(),
                "days": adoption.days,
                "kwh": round(adoption.wh / 1000, 3),
                "confirmed": adoption.confirmed,
            }
    return status


async def async_confirm(entry: LinkyConfigEntry) -> list[str]:
    """Confirm every adoption: it can no longer be undone. Returns the series confirmed."""
    coordinator = entry.runtime_data.coordinator
    sync = coordinator.sync
    assert sync is not None
    confirmed = []
    for series in coordinator.options.series:
        adoption = sync.state.series_state(series).adoption
        if adoption is not None and not adoption.confirmed:
            adoption.confirmed = True
            confirmed.append(series)
    await coordinator.store.async_save(sync.state.as_dict())
    return confirmed


def energy_replacements(entry: LinkyConfigEntry, sources: dict[str, list[str]]) -> dict[str, str]:
    """Which statistic ids the Energy dashboard should use instead (a single source per
    series only: a sum of several series has no one id to replace)."""
    pdl = entry.runtime_data.coordinator.pdl
    return {ids[0]: statistic_id(pdl, series) for series, ids in sources.items() if len(ids) == 1}


async def async_switch_energy(
    hass: HomeAssistant, replacements: dict[str, str], *, apply: bool
) -> list[dict[str, str]]:
    """The energy statistics of the Energy dashboard's sources that use an old id, each
    with the id that replaces it; with `apply`, the preferences are updated (costs and every
    other setting kept). Returns the changes."""
    from homeassistant.components.energy.data import (  # noqa: PLC0415 - only when asked
        async_get_manager,
    )

    manager = await async_get_manager(hass)
    data = manager.data
    if data is None:
        return []
    changes: list[dict[str, str]] = []
    sources: list[dict[str, Any]] = []
    for source in data["energy_sources"]:
        updated: dict[str, Any] = dict(source)
        for key, value in source.items():
            if key.startswith("stat_energy") and value in replacements:
                updated[key] = replacements[value]
                changes.append(
                    {"type": source["type"], "key": key, "from": value, "to": replacements[value]}
                )
        sources.append(updated)
    if apply and changes:
        await manager.async_update({"energy_sources": sources})  # type: ignore[typeddict-item]
    return changes


async def async_adopt_history(
    hass: HomeAssistant,
    entry: LinkyConfigEntry,
    mode: str,
    given: dict[str, list[str]],
    switch_energy: bool,
) -> dict[str, Any]:
    """The `linky.adopt_history` action: `preview` (writes nothing), `adopt`, `confirm`
    or `undo`; `given`: the source ids per series (else the known ones found)."""
    coordinator = entry.runtime_data.coordinator
    if mode == MODE_CONFIRM:
        return {"confirmed": await async_confirm(entry), "adoption": adoption_status(entry)}
    if mode == MODE_UNDO:
        undone = await coordinator.async_undo_adoptions()
        restored: list[dict[str, str]] = []
        if undone:
            ours = {statistic_id(coordinator.pdl, series): series for series in undone}
            old = known_sources(coordinator.options, undone)
            back = {stat_id: old[series] for stat_id, series in ours.items() if series in old}
            restored = await async_switch_energy(hass, back, apply=True)
        return {
            "undone": {series: until.isoformat() for series, until in undone.items()},
            "energy_dashboard": restored,
        }
    found = {} if given else await async_found_sources(hass, entry)
    sources = given or {series: [stat_id] for series, stat_id in found.items()}
    if not sources:
        looked_for = known_sources(coordinator.options, coordinator.options.series)
        raise validation_error(
            "adopt_no_source", pdl=coordinator.pdl, sources=", ".join(looked_for.values())
        )
    previews = await async_preview(hass, entry, sources)
    replacements = energy_replacements(entry, sources)
    response: dict[str, Any] = {
        "series": [p.as_dict(statistic_id(coordinator.pdl, p.series)) for p in previews]
    }
    if mode == MODE_ADOPT:
        response["written_days"] = await async_adopt(hass, entry, previews)
    apply = mode == MODE_ADOPT and switch_energy
    response["energy_dashboard"] = await async_switch_energy(hass, replacements, apply=apply)
    response["energy_dashboard_switched"] = apply and bool(response["energy_dashboard"])
    response["adoption"] = adoption_status(entry)
    return response


def validation_error(key: str, **placeholders: str) -> ServiceValidationError:
    """A translated ServiceValidationError of this integration."""
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )
