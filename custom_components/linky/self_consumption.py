"""PV self-consumption in Home Assistant: hourly statistics and yesterday's figures.

When the options name the user's PV production sensor (`pv_entity`, an energy sensor with
long-term statistics), the meter gets:

- the external statistic `linky:<pdl>_self_consumption` (kWh per hour): PV production (the
  sensor's recorded hourly change) minus the Linky injection (the meter's production series;
  zero when production is not imported, i.e. no injection), clamped at 0;
- yesterday's self-consumed energy, self-consumption rate and self-sufficiency rate, for the
  sensors (complete local days only, see `shedding.selfconsumption`).

Computed from what the recorder holds (no Conso API request), after each import run and at
setup; only complete days are written, through the ledger's `plan_write` so that sums stay
exact when a day is rewritten.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .conso.models import PARIS
from .const import DOMAIN, LOGGER, SERIES_CONSUMPTION, SERIES_PRODUCTION
from .energy.hourly import local_day_bounds
from .energy.ledger import DayData, SeriesLedger, plan_write
from .shedding.selfconsumption import DayFigures, self_consumption
from .statistics import async_write_plan, read_hourly_wh, series_metadata, statistic_id

CONF_PV_ENTITY: Final = "pv_entity"
SERIES_SELF_CONSUMPTION: Final = "self_consumption"
STORAGE_VERSION: Final = 1


class SelfConsumptionUpdater:
    """Keeps one meter's self-consumption series and yesterday's figures up to date."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        pdl: str,
        series: tuple[str, ...],
        on_update: Callable[[], None],
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.pdl = pdl
        self.pv_entity: str = entry.options[CONF_PV_ENTITY]
        self.injection = SERIES_PRODUCTION in series
        self.store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}.self_consumption"
        )
        self.ledger = SeriesLedger()
        self.days: dict[date, DayFigures] = {}
        self._on_update = on_update
        self._lock = asyncio.Lock()

    @property
    def yesterday(self) -> DayFigures | None:
        """Yesterday's (local) figures, when the day is complete."""
        day = dt_util.utcnow().astimezone(PARIS).date() - timedelta(days=1)
        return self.days.get(day)

    async def async_setup(self) -> None:
        """Restore the ledger of what is stored."""
        saved = await self.store.async_load() or {}
        try:
            self.ledger = SeriesLedger.from_dict(saved.get("ledger") or {})
            self.days = {
                date.fromisoformat(day): DayFigures(**figures)
                for day, figures in saved.get("days", {}).items()
            }
        except (TypeError, ValueError) as err:
            LOGGER.warning("Self-consumption state of %s is unreadable: %s", self.pdl, err)

    def async_start(self) -> None:
        """Catch up in the background: every stored day the first time, then only the days
        since the last one computed (the PV sensor's recent hours may have been missing)."""
        days: set[date] | None = None
        if (last := self.ledger.last_day) is not None:
            today = dt_util.utcnow().astimezone(PARIS).date()
            days = {last + timedelta(days=n) for n in range(-1, (today - last).days + 1)}
        self.entry.async_create_background_task(
            self.hass, self.async_update(days), f"{DOMAIN} self-consumption {self.pdl}"
        )

    async def async_update(self, days: set[date] | None) -> None:
        """Recompute `days` (None: every day with data). Errors are logged, never raised."""
        if days is not None and not days:
            return
        async with self._lock:
            try:
                await self._async_update(days)
            except Exception:  # never let self-consumption break a run
                LOGGER.exception("Could not update the self-consumption of %s", self.pdl)
                return
            await self.store.async_save(
                {
                    "ledger": self.ledger.as_dict(),
                    "days": {
                        day.isoformat(): {
                            "production_wh": figures.production_wh,
                            "injection_wh": figures.injection_wh,
                            "grid_wh": figures.grid_wh,
                            "self_consumed_wh": figures.self_consumed_wh,
                            "complete": figures.complete,
                        }
                        for day, figures in sorted(self.days.items())[-40:]
                    },
                }
            )
        self._on_update()

    async def _async_update(self, days: set[date] | None) -> None:
        start = local_day_bounds(min(days))[0] if days else dt_util.utc_from_timestamp(0)
        end = local_day_bounds(max(days))[1] if days else None
        instance = get_instance(self.hass)
        await instance.async_block_till_done()  # the run's rows are written first

        async def read(stat_id: str, kind: str) -> dict[datetime, float]:
            return await instance.async_add_executor_job(
                read_hourly_wh, self.hass, stat_id, start, end, kind
            )

        grid = await read(statistic_id(self.pdl, SERIES_CONSUMPTION), "state")
        production = await read(self.pv_entity, "change")
        injection = (
            await read(statistic_id(self.pdl, SERIES_PRODUCTION), "state")
            if self.injection
            else dict.fromkeys(grid, 0.0)
        )
        result = await self.hass.async_add_executor_job(
            self_consumption, production, injection, grid
        )
        complete = {
            day: figures
            for day, figures in result.days.items()
            if figures.complete and (days is None or day in days)
        }
        self.days.update(complete)
        if result.clamped:
            LOGGER.debug(
                "%s: injection above the PV production in %s hours (clamped)",
                self.pdl,
                len(result.clamped),
            )
        data = [
            DayData.hourly(
                day,
                {
                    hour: figures.self_consumed_wh
                    for hour, figures in result.hours.items()
                    if hour.astimezone(PARIS).date() == day
                },
            )
            for day in sorted(complete)
        ]
        plan = plan_write(self.ledger, data)
        if plan.rows or plan.adjustments:
            await async_write_plan(
                self.hass,
                series_metadata(self.pdl, SERIES_SELF_CONSUMPTION, "self-consumption"),
                plan,
            )
        self.ledger = plan.ledger_after

    async def async_after_run(self, written: Mapping[str, set[date]]) -> None:
        """After an import run: recompute the days it wrote."""
        days: set[date] = set()
        for series_days in written.values():
            days |= series_days
        await self.async_update(days)


async def async_remove_self_consumption(
    hass: HomeAssistant, entry: ConfigEntry, pdl: str, clear: bool
) -> None:
    """Forget an entry's self-consumption state, and its statistics if `clear`."""
    await Store[dict[str, Any]](
        hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}.self_consumption"
    ).async_remove()
    if clear:
        get_instance(hass).async_clear_statistics([statistic_id(pdl, SERIES_SELF_CONSUMPTION)])
