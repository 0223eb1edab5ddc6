"""Cost statistics derived from the stored energy rows: energy cost, fixed cost (subscription
and taxes), production revenue, and energy per tariff period (HP/HC, the six Tempo buckets).

Derived external statistics of a meter (`linky:<pdl>_<name>`):

- `consumption_cost` (EUR): energy only, priced per hour by the tariff engine.
- `fixed_cost` (EUR): subscription + per-kWh taxes; only when the tariff has any.
- `production_revenue` (EUR): injected energy times the dated buy-back price.
- `consumption_<bucket>` (kWh): energy of each HP/HC or Tempo bucket (none for Base).

They are computed from the energy rows already in the recorder, never from the API: after
each run for the days that run wrote, and all over again (zero Conso API requests) when the
tariff changed. Each series keeps its own `SeriesLedger` so sums stay exact through
`plan_write`, the same mechanism as the energy series; money goes through it in milli-euros
(the ledger's "Wh") so that rows come out in euros (its "kWh").

Days stored DAILY (one row at local midnight) get an energy cost only with a Base contract
(price x kWh); with HP/HC or Tempo the split of the day is unknown, so those days are left
out of `consumption_cost` and the bucket series (the fixed cost and the revenue, which do not
depend on the hour, are still written). Days of a Tempo period whose colours are not known
yet are left out too and retried after each run ("pending").
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
import hashlib
import json
import math
from typing import Any, Final

from homeassistant.components.recorder.models import (
    StatisticMetaData,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.storage import Store

from .const import DOMAIN, LOGGER, SERIES_CONSUMPTION, SERIES_PRODUCTION
from .energy.hourly import day_hours
from .energy.ledger import DayData, Resolution, SeriesLedger, plan_write
from .energy.tariffs import (
    OPTION_BUCKETS,
    Bucket,
    ColourLookup,
    ContractOption,
    Tariff,
    TariffEngine,
    TariffError,
)
from .statistics import async_write_plan, read_stored_days, series_metadata, statistic_id
from .tempo import (
    CONF_TEMPO_ENTITY,
    CONF_TEMPO_URL,
    TempoCoordinator,
    TempoSource,
    async_get_source,
    async_refresh_minute,
)

CONF_TARIFF: Final = "tariff"
STORAGE_VERSION: Final = 1
CURRENCY: Final = "EUR"
CHUNK_DAYS: Final = 31
"""Days computed and written per step of a big (re)computation, between two yields."""
HASH_VERSION: Final = 1
"""Bump to recompute every cost series after a change of the computation itself."""

SERIES_COST: Final = "consumption_cost"
SERIES_FIXED: Final = "fixed_cost"
SERIES_REVENUE: Final = "production_revenue"
MONEY_SERIES: Final = (SERIES_COST, SERIES_FIXED, SERIES_REVENUE)
_MILLI: Final = 1000.0  # euros go through the ledger as milli-euros

_NAMES: Final = {
    SERIES_COST: "consumption cost",
    SERIES_FIXED: "fixed cost",
    SERIES_REVENUE: "production revenue",
}


def bucket_series(bucket: Bucket) -> str:
    """The series name of a bucket's energy, e.g. `consumption_hp`."""
    return f"consumption_{bucket.value}"


BUCKET_SERIES: Final = tuple(bucket_series(b) for b in Bucket if b is not Bucket.BASE)
ALL_SERIES: Final = (*MONEY_SERIES, *BUCKET_SERIES)


def derived_metadata(pdl: str, name: str) -> StatisticMetaData:
    """Metadata of a derived series: EUR (costs, revenue) or kWh (per-period energy)."""
    label = _NAMES.get(name) or f"consumption {name.removeprefix('consumption_').upper()}"
    return series_metadata(
        pdl, name, label.replace("_", " "), currency=CURRENCY if name in MONEY_SERIES else None
    )


def tariff_from_options(options: Mapping[str, Any]) -> Tariff | None:
    """The tariff saved in an entry's options, or None (none saved, or unreadable)."""
    raw = options.get(CONF_TARIFF)
    if not raw:
        return None
    try:
        return Tariff.from_dict(raw)
    except TariffError as err:
        LOGGER.error("Ignoring the saved tariff, it is not valid: %s", err)
        return None


def tariff_hash(tariff: Tariff | None, series: Iterable[str]) -> str | None:
    """What the derived series were computed with (None: no tariff, no derived series)."""
    if tariff is None:
        return None
    payload = json.dumps(
        {"v": HASH_VERSION, "tariff": tariff.as_dict(), "series": sorted(series)}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()


# --- pure computation (runs in an executor) ---------------------------------------------------


@dataclass(slots=True)
class Computed:
    """Derived days by series name, and the consumption days waiting for Tempo colours."""

    days: dict[str, list[DayData]] = field(default_factory=dict)
    pending: set[date] = field(default_factory=set)

    def add(self, name: str, data: DayData) -> None:
        """Add a derived day."""
        self.days.setdefault(name, []).append(data)


def _spread(data: DayData) -> dict[datetime, float]:
    """A DAILY day's total spread evenly over its hours (exact for anything that does not
    depend on the hour: Base prices, subscription, taxes, buy-back)."""
    hours = day_hours(data.day)
    return dict.fromkeys(hours, data.total_wh / len(hours))


def _as_day(data: DayData, values: Mapping[datetime, float], scale: float) -> DayData:
    """`values` (EUR or Wh by hour) as a derived day of the same resolution as `data`."""
    if data.resolution is Resolution.DAILY:
        return DayData.daily(data.day, math.fsum(values.values()) * scale)
    return DayData.hourly(data.day, {hour: values[hour] * scale for hour in data.hours})


def compute_days(
    tariff: Tariff,
    colour_of: ColourLookup,
    consumption: Iterable[DayData],
    production: Iterable[DayData],
) -> Computed:
    """Price stored energy days with `tariff` (see the module docstring for what is left out)."""
    engine = TariffEngine(tariff, colour_of)
    with_fixed = any(
        p.subscription_monthly is not None or p.tax_per_kwh is not None for p in tariff.periods
    )
    out = Computed()
    for data in consumption:
        period = tariff.period_at(data.day)
        if period is None:
            continue
        hourly = data.resolution is Resolution.HOURLY
        result = engine.compute(dict(data.hours) if hourly else _spread(data))
        if with_fixed:
            out.add(SERIES_FIXED, _as_day(data, result.fixed_cost, _MILLI))
        if result.missing_colours:
            if hourly:
                out.pending.add(data.day)
            continue
        if not hourly and period.option is not ContractOption.BASE:
            continue
        out.add(SERIES_COST, _as_day(data, result.total_energy_cost, _MILLI))
        if hourly and period.option is not ContractOption.BASE:
            for bucket in OPTION_BUCKETS[period.option]:
                out.add(bucket_series(bucket), _as_day(data, result.energy_wh[bucket], 1.0))
    for data in production:
        if tariff.buyback_price_at(data.day) is None:
            continue
        hours = dict(data.hours) if data.resolution is Resolution.HOURLY else _spread(data)
        result = engine.compute({}, hours)
        out.add(SERIES_REVENUE, _as_day(data, result.production_revenue, _MILLI))
    return out


def tempo_days_needed(tariff: Tariff, days: Iterable[DayData]) -> set[date]:
    """Tempo days whose colours pricing the HOURLY `days` needs (a local day D covers the
    end of Tempo day D-1 and the start of D)."""
    needed: set[date] = set()
    for data in days:
        period = tariff.period_at(data.day)
        if (
            data.resolution is Resolution.HOURLY
            and period is not None
            and period.option is ContractOption.TEMPO
        ):
            needed.add(date.fromordinal(data.day.toordinal() - 1))
            needed.add(data.day)
    return needed


# --- Home Assistant glue ----------------------------------------------------------------------


class CostUpdater:
    """Keeps one meter's derived series in step with its energy series and tariff."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, pdl: str, series: Iterable[str]
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.pdl = pdl
        self.series = tuple(series)
        self.tariff = tariff_from_options(entry.options)
        self.store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}.costs"
        )
        self.ledgers: dict[str, SeriesLedger] = {}
        self.pending: set[date] = set()
        self.computed_hash: str | None = None
        self.tempo: TempoCoordinator | None = None
        self._source: TempoSource | None = None
        self._lock = asyncio.Lock()

    @property
    def wanted_hash(self) -> str | None:
        """The hash of what the derived series should be computed with now."""
        return tariff_hash(self.tariff, self.series)

    async def async_setup(self) -> None:
        """Restore the ledgers (no I/O beyond HA's storage) and set up the Tempo source."""
        saved = await self.store.async_load() or {}
        try:
            self.ledgers = {
                name: SeriesLedger.from_dict(raw) for name, raw in saved.get("ledgers", {}).items()
            }
            self.pending = {date.fromisoformat(day) for day in saved.get("pending", [])}
            self.computed_hash = saved.get("hash")
        except (AttributeError, TypeError, ValueError) as err:
            LOGGER.warning("Cost state of %s is unreadable (%s): recomputing", self.pdl, err)
            self.ledgers, self.pending, self.computed_hash = {}, set(), "unreadable"
        options = self.entry.options
        uses_tempo = self.tariff is not None and self.tariff.uses_tempo
        if uses_tempo or options.get(CONF_TEMPO_URL) or options.get(CONF_TEMPO_ENTITY):
            self._source = await async_get_source(self.hass, dict(options))
            self.tempo = TempoCoordinator(
                self.hass, self.entry, self._source, await async_refresh_minute(self.hass)
            )

    def async_start(self) -> None:
        """Start the Tempo refreshes and, in the background, the recomputation of every
        derived series if the tariff changed (or retry the pending days)."""
        if self.tempo is not None:
            self.tempo.async_start()
        self.entry.async_create_background_task(
            self.hass, self.async_update(), f"{DOMAIN} costs {self.pdl}"
        )

    async def async_update(self, written: Mapping[str, set[date]] | None = None) -> None:
        """Bring the derived series up to date: everything if the tariff changed, else the
        `written` days of the energy series and the pending days. Errors are logged, never
        raised (costs must not break the energy import)."""
        async with self._lock:
            try:
                if self.computed_hash != self.wanted_hash:
                    await self._async_recompute_all()
                elif self.tariff is not None:
                    days: dict[str, set[date] | None] = {
                        series: set((written or {}).get(series, set())) for series in self.series
                    }
                    days[SERIES_CONSUMPTION] = (days[SERIES_CONSUMPTION] or set()) | self.pending
                    await self._async_compute(days)
            except Exception:  # never let costs break a run
                LOGGER.exception("Could not update the cost statistics of %s", self.pdl)
                return
            await self._async_save()

    async def async_after_run(self, written: Mapping[str, set[date]]) -> None:
        """After a run: derive the days it wrote (see `async_update`)."""
        await self.async_update(written)

    async def _async_save(self) -> None:
        await self.store.async_save(
            {
                "hash": self.computed_hash,
                "ledgers": {name: ledger.as_dict() for name, ledger in self.ledgers.items()},
                "pending": sorted(day.isoformat() for day in self.pending),
            }
        )

    async def _async_recompute_all(self) -> None:
        """Clear every derived series, then derive them again from all stored energy rows."""
        LOGGER.info("Tariff of %s changed: recomputing its cost statistics", self.pdl)
        get_instance(self.hass).async_clear_statistics(
            [statistic_id(self.pdl, name) for name in ALL_SERIES]
        )
        self.ledgers = {}
        self.pending = set()
        if self.tariff is not None:
            await self._async_compute(dict.fromkeys(self.series))
        self.computed_hash = self.wanted_hash

    async def _async_read_days(self, series: str, days: set[date] | None) -> list[DayData]:
        """Stored days of an energy series: those of `days`, or all of them (None)."""
        if days is not None and not days:
            return []
        instance = get_instance(self.hass)
        await instance.async_block_till_done()  # the run's rows are written first
        return await instance.async_add_executor_job(
            read_stored_days, self.hass, statistic_id(self.pdl, series), days
        )

    async def _async_compute(self, written: Mapping[str, set[date] | None]) -> None:
        """Derive the given days (None: all stored days) of each energy series, oldest
        first, a chunk of days at a time."""
        tariff = self.tariff
        if tariff is None:  # pragma: no cover - callers check
            return
        consumption = await self._async_read_days(
            SERIES_CONSUMPTION, written.get(SERIES_CONSUMPTION, set())
        )
        production = (
            await self._async_read_days(SERIES_PRODUCTION, written.get(SERIES_PRODUCTION, set()))
            if SERIES_PRODUCTION in self.series
            else []
        )
        chunks: dict[int, tuple[list[DayData], list[DayData]]] = {}
        for index, days in enumerate((consumption, production)):
            for data in days:
                chunks.setdefault(data.day.toordinal() // CHUNK_DAYS, ([], []))[index].append(data)
        for key in sorted(chunks):
            cons_days, prod_days = chunks[key]
            colours = await self._async_fill_colours(tariff, cons_days)
            result = await self.hass.async_add_executor_job(
                compute_days, tariff, colours, cons_days, prod_days
            )
            self.pending = (self.pending - {data.day for data in cons_days}) | result.pending
            for name, days in result.days.items():
                plan = plan_write(self.ledgers.get(name, SeriesLedger()), days)
                if plan.rows or plan.adjustments:
                    await async_write_plan(self.hass, derived_metadata(self.pdl, name), plan)
                self.ledgers[name] = plan.ledger_after
            await asyncio.sleep(0)

    async def _async_fill_colours(self, tariff: Tariff, days: list[DayData]) -> ColourLookup:
        """Learn the Tempo colours the days need (cached; a few requests at most)."""
        needed = tempo_days_needed(tariff, days)
        if self._source is None:
            return lambda _day: None
        if needed:
            await self._source.async_fill(needed)
        return self._source.cache.colour


async def async_remove_costs(
    hass: HomeAssistant, entry: ConfigEntry, pdl: str, clear: bool
) -> None:
    """Forget an entry's cost state, and its derived statistics if `clear`."""
    await Store[dict[str, Any]](
        hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}.costs"
    ).async_remove()
    if clear:
        get_instance(hass).async_clear_statistics([statistic_id(pdl, name) for name in ALL_SERIES])
