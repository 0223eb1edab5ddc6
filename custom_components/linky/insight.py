"""Insight from history in Home Assistant: the typical peak hours of the last 30 days.

Read from the hourly consumption rows of `linky:<pdl>_consumption` in the recorder (no Conso
API request), after each import run and at setup. Only complete hourly local days count:
days stored at daily resolution (a single row at local midnight) are skipped. The figures
come from `shedding.peaks.typical_peak_hours`; the sensor only reads `typical`.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from .conso.models import PARIS
from .const import DOMAIN, LOGGER, SERIES_CONSUMPTION
from .energy.hourly import day_hours, local_day_bounds
from .self_consumption import read_hourly_wh
from .shedding.peaks import PeakHours, typical_peak_hours
from .statistics import statistic_id

PEAK_DAYS: Final = 30


def complete_hourly_days(hourly: Mapping[datetime, float]) -> dict[datetime, float]:
    """The rows of the local days that have every one of their hours (daily-resolution
    days, a single row at midnight, and partial days are left out)."""
    by_day: defaultdict[date, dict[datetime, float]] = defaultdict(dict)
    for start, wh in hourly.items():
        by_day[start.astimezone(PARIS).date()][start] = wh
    return {
        start: wh
        for day, rows in by_day.items()
        if len(rows) == len(day_hours(day))
        for start, wh in rows.items()
    }


class PeakInsight:
    """Keeps one meter's typical peak hours of the last 30 days up to date."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, pdl: str, on_update: Callable[[], None]
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.pdl = pdl
        # None until computed, or without any complete hourly day in the window.
        self.typical: PeakHours | None = None
        self._on_update = on_update
        self._lock = asyncio.Lock()

    def async_start(self) -> None:
        """Compute from what the recorder holds, in the background."""
        self.entry.async_create_background_task(
            self.hass, self.async_update(), f"{DOMAIN} peak insight {self.pdl}"
        )

    async def async_update(self) -> None:
        """Recompute over the 30 local days before today. Errors are logged, never raised."""
        async with self._lock:
            try:
                self.typical = await self._async_compute()
            except Exception:  # never let an insight break a run
                LOGGER.exception("Could not compute the typical peak hours of %s", self.pdl)
                return
        self._on_update()

    async def _async_compute(self) -> PeakHours | None:
        today = dt_util.utcnow().astimezone(PARIS).date()
        start, _ = local_day_bounds(today - timedelta(days=PEAK_DAYS))
        end, _ = local_day_bounds(today)
        instance = get_instance(self.hass)
        await instance.async_block_till_done()  # the run's rows are written first
        rows = await instance.async_add_executor_job(
            read_hourly_wh,
            self.hass,
            statistic_id(self.pdl, SERIES_CONSUMPTION),
            start,
            end,
            "state",
        )
        hourly = complete_hourly_days(rows)
        if not hourly:
            return None
        return typical_peak_hours(hourly, today, days=PEAK_DAYS)
