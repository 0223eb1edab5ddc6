"""An entry's runtime: the meter coordinator and the parts composed around it.

`LinkyRuntimeData` (the entry's `runtime_data`) holds the meter coordinator (imports), the
Tempo colours, load shedding and the derived parts. Dependencies are explicit here: the
Tempo part is built first; load shedding gets the contract and the Tempo part; each derived
part gets a `PartContext` with what it may use. Adding a derived feature is one module with
a `DerivedPart` subclass (see `derived.py`) and one line in `DERIVED_PARTS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance

from ..conso.models import MaxPower
from ..const import SERIES_CONSUMPTION, SERIES_PRODUCTION
from ..options import LinkyOptions
from ..statistics import statistic_id
from .costs import CostSeries
from .derived import DerivedPart, PartContext
from .insight_sources import async_remove_imported_temperatures
from .insights import InsightsPart
from .peak_hours import PeakHoursPart
from .self_consumption import SelfConsumption
from .shedding import LoadShedding, async_create_shedding, async_remove_shedding
from .signature import SignaturePart
from .store import entry_store
from .tariff_compare import TariffComparisonPart
from .tempo_source import TempoCoordinator, async_create_tempo

if TYPE_CHECKING:
    from ..coordinator import LinkyCoordinator

DERIVED_PARTS: Final[tuple[type[DerivedPart], ...]] = (
    CostSeries,
    SelfConsumption,
    PeakHoursPart,
    TariffComparisonPart,
    SignaturePart,
    InsightsPart,  # after what it reads (costs, self-consumption, the energy signature)
)
"""Every kind of derived part, in the order they run after an import."""


@dataclass(slots=True)
class EntryParts:
    """What is composed around the meter coordinator of an entry."""

    tempo: TempoCoordinator | None
    shedding: LoadShedding | None
    derived: tuple[DerivedPart, ...]


@dataclass(slots=True)
class LinkyRuntimeData:
    """The entry's `runtime_data`: the meter coordinator (imports) and the parts around it."""

    coordinator: LinkyCoordinator
    options: LinkyOptions
    tempo: TempoCoordinator | None
    shedding: LoadShedding | None
    derived: tuple[DerivedPart, ...]


type LinkyConfigEntry = ConfigEntry[LinkyRuntimeData]


async def async_build_parts(
    hass: HomeAssistant, entry: ConfigEntry, pdl: str, options: LinkyOptions
) -> EntryParts:
    """Build (not start) the parts the options ask for."""
    tempo = await async_create_tempo(hass, entry, options)
    shedding = async_create_shedding(hass, entry, pdl, options, tempo)

    def max_power() -> Mapping[date, MaxPower]:
        runtime: LinkyRuntimeData | None = getattr(entry, "runtime_data", None)
        return {} if runtime is None else runtime.coordinator.max_power_days

    context = PartContext(
        hass=hass,
        entry=entry,
        pdl=pdl,
        options=options,
        series=options.sync_options(pdl).series,
        tempo=tempo,
        shed_days=frozenset if shedding is None else (lambda: shedding.shed_days),
        max_power=max_power,
    )
    derived: list[DerivedPart] = []
    for kind in DERIVED_PARTS:
        if (part := kind.create(replace(context, upstream=tuple(derived)))) is not None:
            derived.append(part)
    return EntryParts(tempo=tempo, shedding=shedding, derived=tuple(derived))


async def async_remove_entry_data(
    hass: HomeAssistant, entry_id: str, pdl: str, clear_statistics: bool
) -> None:
    """Forget everything a deleted entry saved; its statistics only when `clear_statistics`."""
    await entry_store(hass, entry_id).async_remove()
    for kind in DERIVED_PARTS:
        await kind.async_remove(hass, entry_id, pdl, clear_statistics)
    await async_remove_shedding(hass, entry_id)
    await async_remove_imported_temperatures(hass, entry_id)
    if clear_statistics:
        get_instance(hass).async_clear_statistics(
            [statistic_id(pdl, series) for series in (SERIES_CONSUMPTION, SERIES_PRODUCTION)]
        )
