"""Insight from history in Home Assistant: the typical peak hours of the last 30 days.

Read from the hourly consumption rows of `linky:<pdl>_consumption` in the recorder (no Conso
API request), after each import run and at setup. Only complete hourly local days count:
days stored at daily resolution (a single row at local midnight) are skipped. The figures
come from `shedding.peaks.typical_peak_hours`; the sensor only reads `typical`.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from .conso.models import PARIS
from .const import DOMAIN, LOGGER, SERIES_CONSUMPTION
from .energy.hourly import day_hours, local_day_bounds
from .shedding.peaks import PeakHours, typical_peak_hours
from .statistics import read_hourly_wh, statistic_id

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
        self._computed_on: date | None = None  # the local day the window was last read

    def async_start(self) -> None:
        """Compute from what the recorder holds, in the background."""
        self.entry.async_create_background_task(
            self.hass, self.async_update(), f"{DOMAIN} peak insight {self.pdl}"
        )

    async def async_after_run(self, written: Iterable[date]) -> None:
        """Recompute when the run wrote a day of the window, or when the window moved (a new
        day); back-fill runs, which write older days, leave it alone (no database read)."""
        today = dt_util.utcnow().astimezone(PARIS).date()
        window_start = today - timedelta(days=PEAK_DAYS)
        if self._computed_on == today and not any(day >= window_start for day in written):
            return
        await self.async_update()

    async def async_update(self) -> None:
        """Recompute over the 30 local days before today. Errors are logged, never raised."""
        async with self._lock:
            self._computed_on = dt_util.utcnow().astimezone(PARIS).date()
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
